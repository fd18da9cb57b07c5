package io.dma4j.api;

/**
 * A caller-owned, reusable scatter list ({@code struct scatterlist} array): the physical
 * ranges of one buffer and, after {@link DmaMapper#mapSg}, the DMA segments the backend
 * produced (possibly fewer, when a backend merges). Parallel primitive arrays: filling and
 * reading it allocates nothing.
 *
 * <p>Thread safety: none; one list per request.
 */
public final class ScatterList {
    /** DMA segment flag: the segment is a PCI bus address of peer memory (never unmapped). */
    public static final int FLAG_BUS_ADDRESS = 1;
    /** DMA segment flag: the entry was mapped on its own through a bounce buffer (no merging). */
    public static final int FLAG_SWIOTLB = 2;

    private final long[] phys;
    private final long[] length;
    private final long[] dmaAddress;
    private final long[] dmaLength;
    private final int[] dmaFlags;

    /** A list of at most {@code capacity} entries. */
    public ScatterList(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity: " + capacity + " (expected: > 0)");
        }
        phys = new long[capacity];
        length = new long[capacity];
        dmaAddress = new long[capacity];
        dmaLength = new long[capacity];
        dmaFlags = new int[capacity];
    }

    /** The number of entries the list can hold. */
    public int capacity() {
        return phys.length;
    }

    /** Sets entry {@code i} to the physical range {@code [phys, phys+length)}. */
    public ScatterList set(int i, long phys, long length) {
        this.phys[i] = phys;
        this.length[i] = length;
        return this;
    }

    /** The physical address of entry {@code i}. */
    public long phys(int i) {
        return phys[i];
    }

    /** The length of entry {@code i}. */
    public long length(int i) {
        return length[i];
    }

    /** The DMA address of DMA segment {@code i} (valid for {@code i <} the count mapSg returned). */
    public long dmaAddress(int i) {
        return dmaAddress[i];
    }

    /** The length of DMA segment {@code i}. */
    public long dmaLength(int i) {
        return dmaLength[i];
    }

    /** The flags of DMA segment {@code i} ({@link #FLAG_BUS_ADDRESS}). */
    public int dmaFlags(int i) {
        return dmaFlags[i];
    }

    /** Backends: records DMA segment {@code i}. */
    public void setDma(int i, long address, long length, int flags) {
        dmaAddress[i] = address;
        dmaLength[i] = length;
        dmaFlags[i] = flags;
    }
}
