package io.dma4j.consumers.block;

import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.DmaMappingException;
import io.dma4j.api.IovaState;
import io.dma4j.api.P2pState;
import io.dma4j.api.ScatterList;

/**
 * The block layer's request mapping iterator ({@code blk_rq_dma_map_iter_start/next},
 * {@code blk_rq_dma_unmap}, block/blk-mq-dma.c) for one request at a time: the first
 * segment decides peer-to-peer handling; otherwise one IOVA range is tried for the whole
 * request (aligned with the first segment's offset), every segment is linked back to
 * back and synced once, and the request becomes a single DMA range; when try-alloc
 * answers false each segment is mapped on its own. Only what unmapping needs is kept: the
 * 16-byte IOVA state, or the per-segment addresses when the backend needs unmaps, or
 * nothing.
 *
 * <p>The kernel's iterator lets a failed link be overwritten by the following sync's
 * result; this one unwinds what was linked and throws (see the README's Fidelity).
 *
 * <p>Thread safety: none; one iterator per in-flight request, reused after {@link #unmap}.
 */
public final class BlockDmaIterator {
    private final IovaState state = new IovaState();
    private final P2pState p2p = new P2pState();
    private final long[] dmaAddr;
    private final long[] dmaLen;
    private int count;
    private long mapped;
    private boolean busAddresses;
    private boolean recorded;
    private int attrs;
    private boolean tryIova = true;
    private boolean scatterList;
    private final ScatterList sg;
    private int sgEntries;

    /** @param maxSegments the most segments a request may have */
    public BlockDmaIterator(int maxSegments) {
        dmaAddr = new long[maxSegments];
        dmaLen = new long[maxSegments];
        sg = new ScatterList(maxSegments);
    }

    /**
     * Maps requests the pre-6.17 way instead: one scatter list per request through
     * {@code mapSg} (one IOVA allocation and flush per list under an IOMMU), for comparisons.
     * The kernel kept a 32-byte scatterlist entry per segment for that.
     */
    public void setScatterList(boolean scatterList) {
        this.scatterList = scatterList;
    }

    /**
     * Whether to try one IOVA range per request (the two-step API, the default) or always
     * map segment by segment (the classic API), for comparisons.
     */
    public void setTryIova(boolean tryIova) {
        this.tryIova = tryIova;
    }

    /**
     * Maps a request's physical segments for {@code mapper}'s device.
     *
     * @return the number of DMA ranges (1 when the request was coalesced into one IOVA range)
     * @throws DmaMappingException when a segment cannot be mapped (nothing stays mapped) or
     *                             the first segment is peer memory the device cannot reach
     */
    public int map(DmaMapper mapper, long[] phys, long[] len, int segments, DmaDirection dir) {
        if (segments <= 0 || segments > dmaAddr.length) {
            throw new IllegalArgumentException("segments: " + segments + " (expected: 1.." + dmaAddr.length + ")");
        }
        count = 0;
        mapped = 0;
        busAddresses = false;
        recorded = false;
        sgEntries = 0;
        attrs = 0;
        p2p.clear();
        long total = 0;
        for (int i = 0; i < segments; i++) {
            total += len[i];
        }
        switch (mapper.p2pMapType(p2p, phys[0])) {
            case BUS_ADDR -> {
                busAddresses = true;
                for (int i = 0; i < segments; i++) {
                    add(p2p.busAddress(phys[i]), len[i]);
                }
                mapped = total;
                return count;
            }
            case THRU_HOST_BRIDGE -> attrs = DmaAttrs.MMIO;
            case NOT_SUPPORTED -> throw new DmaMappingException(mapper.device().name(), phys[0], len[0], "peer memory not reachable (BLK_STS_INVAL)");
            case NONE -> { }
        }
        if (scatterList) {
            for (int i = 0; i < segments; i++) {
                sg.set(i, phys[i], len[i]);
            }
            int n = mapper.mapSg(sg, segments, dir, attrs);
            for (int i = 0; i < n; i++) {
                add(sg.dmaAddress(i), sg.dmaLength(i));
            }
            sgEntries = segments;
            mapped = total;
            return count;
        }
        if (tryIova && mapper.iovaTryAlloc(state, phys[0], total)) {
            try {
                for (int i = 0; i < segments; i++) {
                    mapper.iovaLink(state, phys[i], mapped, len[i], dir, attrs);
                    mapped += len[i];
                }
                mapper.iovaSync(state, 0, mapped);
            } catch (RuntimeException e) {
                mapper.iovaDestroy(state, mapped, dir, attrs); // the kernel reports the sync's result instead; we fail the request
                mapped = 0;
                throw e;
            }
            add(state.addr(), total);
            return count;
        }
        for (int i = 0; i < segments; i++) {
            try {
                add(mapper.mapPhys(phys[i], len[i], dir, attrs), len[i]);
            } catch (RuntimeException e) {
                for (int j = 0; j < count; j++) {
                    mapper.unmapPhys(dmaAddr[j], dmaLen[j], dir, attrs | DmaAttrs.SKIP_CPU_SYNC);
                }
                count = 0;
                throw e;
            }
            mapped += len[i];
        }
        recorded = mapper.needUnmap();
        return count;
    }

    private void add(long addr, long length) {
        dmaAddr[count] = addr;
        dmaLen[count] = length;
        count++;
    }

    /** DMA range {@code i}'s address. */
    public long dmaAddress(int i) {
        return dmaAddr[i];
    }

    /** DMA range {@code i}'s length. */
    public long dmaLength(int i) {
        return dmaLen[i];
    }

    /** Whether the request became one IOVA range ({@code blk_rq_dma_map_coalesce}). */
    public boolean coalesced() {
        return state.useIova();
    }

    /** Whether the request's segments are peer bus addresses (nothing to unmap). */
    public boolean busAddresses() {
        return busAddresses;
    }

    /**
     * Bytes a driver must keep per request to unmap it later: the 16-byte IOVA state when
     * coalesced, 16 bytes per segment when the backend needs unmaps, else none.
     */
    public long bookkeepingBytes() {
        if (state.useIova()) {
            return 16;
        }
        if (sgEntries > 0) {
            return 32L * sgEntries;
        }
        return recorded ? 16L * count : 0;
    }

    /** Unmaps the request ({@code blk_rq_dma_unmap} plus the driver's per-segment unmaps). */
    public void unmap(DmaMapper mapper, DmaDirection dir) {
        if (busAddresses) {
            return;
        }
        if (sgEntries > 0) {
            mapper.unmapSg(sg, sgEntries, dir, attrs);
            sgEntries = 0;
        } else if (state.useIova()) {
            mapper.iovaDestroy(state, mapped, dir, attrs);
        } else if (recorded) {
            for (int i = 0; i < count; i++) {
                mapper.unmapPhys(dmaAddr[i], dmaLen[i], dir, attrs);
            }
        }
        count = 0;
        mapped = 0;
    }
}
