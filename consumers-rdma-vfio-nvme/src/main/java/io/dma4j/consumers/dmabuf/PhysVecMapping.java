package io.dma4j.consumers.dmabuf;

import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.DmaMappingException;
import io.dma4j.api.IovaState;
import io.dma4j.api.P2pMapType;
import io.dma4j.api.P2pState;

/**
 * MMIO ranges of a peer's BAR mapped for an importer's device without struct pages, as
 * {@code dma_buf_phys_vec_to_sgt} and {@code dma_buf_free_sgt} (drivers/dma-buf/dma-buf-mapping.c,
 * v6.19) do: by the P2P map type of the device to the BAR — a bus address (no IOVA, nothing
 * to undo), through the host bridge (one IOVA for the total, each range linked with
 * {@link DmaAttrs#MMIO}, one sync; when no IOVA space can be had, each range mapped on its own),
 * anything else refused. Entries are split at {@value #MAX_ENTRY} bytes, the largest 32-bit
 * scatterlist length.
 *
 * <p>The kernel version read links every range at IOVA offset 0, which overlaps as soon as
 * there are two ranges; the model links them at a running offset, the evident intent (README
 * Fidelity).
 */
public final class PhysVecMapping {
    /** {@code UINT_MAX}: the longest scatterlist entry. */
    public static final long MAX_ENTRY = 0xFFFF_FFFFL;

    private PhysVecMapping() {
    }

    /**
     * Maps the ranges for {@code device}.
     *
     * @throws DmaMappingException when the device cannot reach the BAR peer-to-peer ({@code -EINVAL})
     *                             or the mapping fails
     */
    public static DmaVec map(DmaMapper device, long[] phys, long[] len, int n, DmaDirection dir) {
        long total = 0;
        int entries = 0;
        for (int i = 0; i < n; i++) {
            total += len[i];
            entries += (int) ((len[i] + MAX_ENTRY - 1) / MAX_ENTRY);
        }
        P2pState state = new P2pState();
        P2pMapType type = device.p2pMapType(state, phys[0]);
        switch (type) {
            case BUS_ADDR -> {
                long[] addr = new long[entries];
                long[] l = new long[entries];
                int e = 0;
                for (int i = 0; i < n; i++) {
                    e = split(state.busAddress(phys[i]), len[i], addr, l, e);
                }
                return new DmaVec(DmaVec.Kind.BUS_ADDRESS, addr, l, e, null, null);
            }
            case THRU_HOST_BRIDGE -> {
                IovaState iova = new IovaState();
                if (device.iovaTryAlloc(iova, phys[0], total)) {
                    long offset = 0;
                    try {
                        for (int i = 0; i < n; i++) {
                            device.iovaLink(iova, phys[i], offset, len[i], dir, DmaAttrs.MMIO);
                            offset += len[i];
                        }
                        device.iovaSync(iova, 0, total);
                    } catch (RuntimeException ex) {
                        if (offset > 0) {
                            device.iovaDestroy(iova, offset, dir, DmaAttrs.MMIO | DmaAttrs.SKIP_CPU_SYNC);
                        } else {
                            device.iovaFree(iova);
                        }
                        throw ex;
                    }
                    int count = (int) ((total + MAX_ENTRY - 1) / MAX_ENTRY);
                    long[] addr = new long[count];
                    long[] l = new long[count];
                    split(iova.addr(), total, addr, l, 0);
                    return new DmaVec(DmaVec.Kind.IOVA, addr, l, count, iova, null);
                }
                long[] addr = new long[entries];
                long[] l = new long[entries];
                long[][] ranges = {new long[n], new long[n]}; // what was mapped, range by range, for the unmap
                int e = 0;
                int mapped = 0;
                try {
                    for (; mapped < n; mapped++) {
                        ranges[0][mapped] = device.mapPhys(phys[mapped], len[mapped], dir, DmaAttrs.MMIO);
                        ranges[1][mapped] = len[mapped];
                        e = split(ranges[0][mapped], len[mapped], addr, l, e);
                    }
                } catch (RuntimeException ex) {
                    unmapRanges(device, ranges, mapped, dir);
                    throw ex;
                }
                return new DmaVec(DmaVec.Kind.PER_RANGE, addr, l, e, null, ranges);
            }
            default -> throw new DmaMappingException(device.device().name(), phys[0], total,
                    "-EINVAL: the device cannot reach this peer memory (P2P map type " + type + ")");
        }
    }

    /** Undoes {@link #map} ({@code dma_buf_free_sgt}). */
    public static void free(DmaMapper device, DmaVec v, DmaDirection dir) {
        switch (v.kind()) {
            case BUS_ADDRESS -> {
            }
            case IOVA -> device.iovaDestroy(v.iova, v.totalBytes(), dir, DmaAttrs.MMIO);
            case PER_RANGE -> {
                long[][] ranges = (long[][]) v.exporterState;
                unmapRanges(device, ranges, ranges[0].length, dir);
            }
            default -> throw new IllegalArgumentException("not an MMIO mapping: " + v.kind());
        }
    }

    /** Entries from a range split at {@link #MAX_ENTRY}; returns the next free entry. */
    private static int split(long dma, long len, long[] addr, long[] l, int e) {
        while (len > 0) {
            long n = Math.min(len, MAX_ENTRY);
            addr[e] = dma;
            l[e++] = n;
            dma += n;
            len -= n;
        }
        return e;
    }

    private static void unmapRanges(DmaMapper device, long[][] ranges, int n, DmaDirection dir) {
        for (int i = n - 1; i >= 0; i--) {
            device.unmapPhys(ranges[0][i], ranges[1][i], dir, DmaAttrs.MMIO);
        }
    }
}
