package io.dma4j.api.internal;

import io.dma4j.api.IovaState;
import io.dma4j.api.P2pMapType;
import io.dma4j.api.P2pState;

/**
 * The way into the writable side of {@link IovaState} and {@link P2pState}. Exported only
 * to {@code io.dma4j.spi}, whose {@code MappingStates} is what backends call: drivers read
 * the states and cannot forge them. (On the class path module boundaries do not hold;
 * the architecture test keeps dma4j's own drivers away from this package.)
 *
 * <p>Thread safety: the accessor is registered once, when {@link IovaState} is initialised.
 */
public final class StateAccess {
    /** The writable side of the states. */
    public interface Accessor {
        void setIova(IovaState state, long addr, long size);

        void markSwiotlb(IovaState state);

        void clearIova(IovaState state);

        void setP2p(P2pState state, Object provider, P2pMapType type, long busOffset, long windowStart, long windowEnd);

        /** Registers a link/unlink under way; false (and nothing registered) when the state holds no IOVA or is being torn down. */
        boolean enter(IovaState state);

        /** Ends what {@link #enter} registered. */
        void exit(IovaState state);

        /** Marks the state as being torn down and waits until no link/unlink is under way. */
        void beginTeardown(IovaState state);

        /** Ends {@link #beginTeardown}. */
        void endTeardown(IovaState state);
    }

    private static volatile Accessor accessor;

    private StateAccess() {
    }

    /**
     * Registers the accessor; done by the API's own classes.
     *
     * @throws IllegalStateException when one is registered already
     */
    public static synchronized void register(Accessor a) {
        if (accessor != null) {
            throw new IllegalStateException("the state accessor is registered already");
        }
        accessor = a;
    }

    /** The accessor. */
    public static Accessor get() {
        Accessor a = accessor;
        if (a == null) {
            new IovaState(); // runs IovaState's static initialiser, which registers it
            a = accessor;
        }
        return a;
    }
}
