package io.dma4j.api;

/**
 * The caller-owned state of one two-step IOVA mapping ({@code struct dma_iova_state}):
 * the DMA address of byte 0 of the caller's range and the size requested at
 * {@link DmaMapper#iovaTryAlloc}, with the {@link #USE_SWIOTLB} flag in bit 63 of the
 * raw size. Allocate one per request (or per long-lived region), reuse it after
 * {@link DmaMapper#iovaDestroy} or {@link DmaMapper#iovaFree}.
 *
 * <p>The setters are for mapping backends; drivers only read. Thread safety: none; a
 * state belongs to one request and its owner orders the calls on it.
 */
public final class IovaState {
    /** Bit 63 of the raw size: some part of some linked range was bounced. */
    public static final long USE_SWIOTLB = 1L << 63;

    private long addr;
    private long rawSize;

    /** The DMA address of byte 0 of the range (includes the sub-granule offset). */
    public long addr() {
        return addr;
    }

    /** The size requested at allocation, without the flag ({@code dma_iova_size}). */
    public long size() {
        return rawSize & ~USE_SWIOTLB;
    }

    /** The size field with the flag bit, as the kernel stores it. */
    public long rawSize() {
        return rawSize;
    }

    /** Whether the state holds IOVA space ({@code dma_use_iova}): false after a failed try-alloc. */
    public boolean useIova() {
        return rawSize != 0;
    }

    /** Whether any linked range was bounced, which makes unlink walk granule by granule. */
    public boolean usesSwiotlb() {
        return (rawSize & USE_SWIOTLB) != 0;
    }

    /** Backends: records a successful allocation. */
    public void set(long addr, long size) {
        this.addr = addr;
        this.rawSize = size;
    }

    /** Backends: records that a link bounced. */
    public void markSwiotlb() {
        this.rawSize |= USE_SWIOTLB;
    }

    /** Zeroes the state, as {@code dma_iova_try_alloc} does before anything else. */
    public void clear() {
        this.addr = 0;
        this.rawSize = 0;
    }

    @Override
    public String toString() {
        return String.format("IovaState[addr=0x%x, size=0x%x%s]", addr, size(), usesSwiotlb() ? ", swiotlb" : "");
    }
}
