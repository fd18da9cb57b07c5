package io.dma4j.consumers.dmabuf;

import io.dma4j.api.IovaState;

import java.util.Arrays;

/**
 * A dma-buf mapping for one attachment's device: a list of DMA addresses and lengths and
 * nothing else (the {@code sg_table} that {@code dma_buf_phys_vec_to_sgt} builds has no page
 * pointers, so an importer cannot reach the memory from the CPU). It also remembers how it was
 * made, so that the exporter can undo it.
 *
 * <p>Thread safety: immutable after the exporter builds it.
 */
public final class DmaVec {
    /** How the entries were mapped. */
    public enum Kind {
        /** Peer bus addresses: nothing was mapped, nothing to undo. */
        BUS_ADDRESS,
        /** One IOVA range for all of it, ranges linked into it. */
        IOVA,
        /** Each range mapped on its own ({@code mapPhys}). */
        PER_RANGE,
        /** Ordinary memory mapped as a scatter list (an exporter of DRAM pages). */
        SCATTER_LIST
    }

    private final Kind kind;
    private final long[] addr;
    private final long[] len;
    private final int count;
    final IovaState iova;
    final Object exporterState;

    DmaVec(Kind kind, long[] addr, long[] len, int count, IovaState iova, Object exporterState) {
        this.kind = kind;
        this.addr = addr;
        this.len = len;
        this.count = count;
        this.iova = iova;
        this.exporterState = exporterState;
    }

    /** How it was mapped. */
    public Kind kind() {
        return kind;
    }

    /** Entries. */
    public int count() {
        return count;
    }

    /** Entry {@code i}'s DMA address (what the attachment's device drives). */
    public long dmaAddress(int i) {
        return addr[checked(i)];
    }

    /** Entry {@code i}'s length in bytes, at most {@code UINT_MAX} (sg lengths are 32-bit). */
    public long dmaLength(int i) {
        return len[checked(i)];
    }

    /** Bytes in all entries. */
    public long totalBytes() {
        long n = 0;
        for (int i = 0; i < count; i++) {
            n += len[i];
        }
        return n;
    }

    /**
     * The entries covering {@code [offset, offset + length)} of the buffer, written to
     * {@code dma} and {@code len}.
     *
     * @return the number of entries written
     * @throws IllegalArgumentException when the span is not inside the mapping or the arrays are too short
     */
    public int slice(long offset, long length, long[] dma, long[] len) {
        if (offset < 0 || length <= 0 || offset + length > totalBytes()) {
            throw new IllegalArgumentException(String.format("span [0x%x, +0x%x) is not inside a mapping of 0x%x bytes", offset, length, totalBytes()));
        }
        int n = 0;
        long at = 0;
        for (int i = 0; i < count && length > 0; i++) {
            long end = at + len(i);
            if (offset < end) {
                long skip = offset - at;
                long take = Math.min(length, len(i) - skip);
                if (n == dma.length) {
                    throw new IllegalArgumentException("more than " + dma.length + " entries in the span");
                }
                dma[n] = addr[i] + skip;
                len[n++] = take;
                offset += take;
                length -= take;
            }
            at = end;
        }
        return n;
    }

    private long len(int i) {
        return len[i];
    }

    private int checked(int i) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException("entry " + i + " of " + count);
        }
        return i;
    }

    @Override
    public String toString() {
        return kind + " " + Arrays.toString(Arrays.copyOf(addr, count)) + " x " + Arrays.toString(Arrays.copyOf(len, count));
    }
}
