package io.dma4j.api;

/**
 * The caller-owned state of one two-step IOVA mapping ({@code struct dma_iova_state}):
 * the DMA address of byte 0 of the caller's range and the size requested at
 * {@link DmaMapper#iovaTryAlloc}, with the {@link #USE_SWIOTLB} flag in bit 63 of the
 * raw size. Allocate one per request (or per long-lived region), reuse it after
 * {@link DmaMapper#iovaDestroy} or {@link DmaMapper#iovaFree}.
 *
 * <p>Drivers only read a state: only mapping backends write it, through the SPI's
 * {@code MappingStates}. Thread safety: none; a state belongs to one request and its owner
 * orders the calls on it (DMA-debug reports two threads using one state at once).
 */
public final class IovaState {
    /** Bit 63 of the raw size: some part of some linked range was bounced. */
    public static final long USE_SWIOTLB = 1L << 63;

    static {
        io.dma4j.api.internal.StateAccess.register(new io.dma4j.api.internal.StateAccess.Accessor() {
            @Override
            public void setIova(IovaState state, long addr, long size) {
                state.addr = addr;
                state.rawSize = size;
            }

            @Override
            public void markSwiotlb(IovaState state) {
                state.rawSize |= USE_SWIOTLB;
            }

            @Override
            public void clearIova(IovaState state) {
                state.addr = 0;
                state.rawSize = 0;
            }

            @Override
            public void setP2p(P2pState state, Object provider, P2pMapType type, long busOffset, long windowStart, long windowEnd) {
                state.set(provider, type, busOffset, windowStart, windowEnd);
            }

            @Override
            public boolean enter(IovaState state) {
                INFLIGHT.getAndAdd(state, 1);
                if (!state.destroying && state.rawSize != 0) {
                    return true;
                }
                INFLIGHT.getAndAdd(state, -1);
                return false;
            }

            @Override
            public void exit(IovaState state) {
                INFLIGHT.getAndAdd(state, -1);
            }

            @Override
            public void beginTeardown(IovaState state) {
                state.destroying = true;
                while ((int) INFLIGHT.getVolatile(state) != 0) {
                    Thread.onSpinWait(); // a concurrent link or unlink (the caller's bug) finishes first
                }
            }

            @Override
            public void endTeardown(IovaState state) {
                state.destroying = false;
            }
        });
    }

    private static final java.lang.invoke.VarHandle INFLIGHT;

    static {
        try {
            INFLIGHT = java.lang.invoke.MethodHandles.lookup().findVarHandle(IovaState.class, "inFlight", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Calls of link or unlink under way on this state (concurrent use is the caller's bug, but is detected). */
    @SuppressWarnings("unused") // through INFLIGHT
    private volatile int inFlight;
    /** Set while destroy or free tears the reservation down. */
    private volatile boolean destroying;

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

    @Override
    public String toString() {
        return String.format("IovaState[addr=0x%x, size=0x%x%s]", addr, size(), usesSwiotlb() ? ", swiotlb" : "");
    }
}
