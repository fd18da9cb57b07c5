package io.dma4j.consumers.dmabuf;

/**
 * A completion a device signals when its DMA on a buffer is done ({@code struct dma_fence}).
 *
 * <p>Thread safety: safe for concurrent use; signalling is one volatile write.
 */
public final class DmaFence {
    private final String owner;
    private volatile boolean signaled;

    /** @param owner who will signal it (an importer's name), for warnings */
    public DmaFence(String owner) {
        this.owner = owner;
    }

    /** The work is done ({@code dma_fence_signal}). */
    public void signal() {
        signaled = true;
    }

    /** Whether it was signalled. */
    public boolean signaled() {
        return signaled;
    }

    /** Who signals it. */
    public String owner() {
        return owner;
    }

    @Override
    public String toString() {
        return "fence of " + owner + (signaled ? " (signaled)" : "");
    }
}
