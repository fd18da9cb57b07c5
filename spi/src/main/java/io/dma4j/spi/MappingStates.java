package io.dma4j.spi;

import io.dma4j.api.IovaState;
import io.dma4j.api.P2pMapType;
import io.dma4j.api.P2pState;
import io.dma4j.api.internal.StateAccess;

/**
 * How backends (and the runtime) write the caller-owned mapping states, which drivers can
 * only read ({@code struct dma_iova_state} and {@code struct pci_p2pdma_map_state} are set
 * by the DMA layer, never by drivers).
 *
 * <p>Thread safety: stateless; a state belongs to one request.
 */
public final class MappingStates {
    private static final StateAccess.Accessor ACCESS = StateAccess.get();

    private MappingStates() {
    }

    /** Records a successful IOVA allocation: the DMA address of byte 0 and the size asked for. */
    public static void setIova(IovaState state, long addr, long size) {
        ACCESS.setIova(state, addr, size);
    }

    /** Records that a link bounced ({@link IovaState#USE_SWIOTLB}). */
    public static void markSwiotlb(IovaState state) {
        ACCESS.markSwiotlb(state);
    }

    /** Zeroes an IOVA state. */
    public static void clear(IovaState state) {
        ACCESS.clearIova(state);
    }

    /**
     * Registers a link or unlink under way on {@code state}, for the runtime's guard against
     * two threads misusing one state: false, with nothing registered, when the state holds no
     * IOVA or is being destroyed. Pair a true answer with {@link #exit}.
     */
    public static boolean enter(IovaState state) {
        return ACCESS.enter(state);
    }

    /** Ends what {@link #enter} registered. */
    public static void exit(IovaState state) {
        ACCESS.exit(state);
    }

    /** Marks {@code state} as being destroyed and waits until no link or unlink is under way on it. */
    public static void beginTeardown(IovaState state) {
        ACCESS.beginTeardown(state);
    }

    /** Ends {@link #beginTeardown}. */
    public static void endTeardown(IovaState state) {
        ACCESS.endTeardown(state);
    }

    /**
     * Records a P2P classification.
     *
     * @param provider    the peer memory (for example its BAR), or {@code null} for none
     * @param type        the map type
     * @param busOffset   CPU physical address minus bus address in that memory
     * @param windowStart first CPU physical address of the peer memory
     * @param windowEnd   one past its last address
     */
    public static void setP2p(P2pState state, Object provider, P2pMapType type, long busOffset, long windowStart, long windowEnd) {
        ACCESS.setP2p(state, provider, type, busOffset, windowStart, windowEnd);
    }
}
