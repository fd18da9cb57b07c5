package io.dma4j.runtime;

/**
 * Whether the runtime that made a chain is still open; read by the validation layer on
 * every call (one volatile read), so no mapper works after {@link DmaRuntime#close()}.
 *
 * <p>Thread safety: safe for concurrent use.
 */
final class Lifecycle {
    /** A lifecycle that never closes (chains built outside a runtime). */
    static final Lifecycle OPEN = new Lifecycle();

    private volatile boolean closed;

    void close() {
        closed = true;
    }

    boolean closed() {
        return closed;
    }

    /** @throws IllegalStateException when closed */
    void check(String device, String call) {
        if (closed) {
            throw new IllegalStateException(device + ": " + call + ": the DmaRuntime of this mapper is closed");
        }
    }
}
