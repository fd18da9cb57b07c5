package io.dma4j.consumers.dmabuf;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * A buffer's reservation object ({@code struct dma_resv}): the lock that map, unmap, pin and
 * invalidate run under, and the fences of DMA in flight on the buffer.
 *
 * <p>Thread safety: safe for concurrent use; the fence list is guarded by the lock.
 */
public final class DmaResv {
    private final ReentrantLock lock = new ReentrantLock();
    private final List<DmaFence> fences = new ArrayList<>();

    /** {@code dma_resv_lock}. */
    public void lock() {
        lock.lock();
    }

    /** {@code dma_resv_unlock}. */
    public void unlock() {
        lock.unlock();
    }

    /** Whether the calling thread holds the lock ({@code dma_resv_held}). */
    public boolean held() {
        return lock.isHeldByCurrentThread();
    }

    /**
     * Adds a fence of DMA about to run on the buffer ({@code dma_resv_add_fence}).
     *
     * @throws IllegalStateException without the lock
     */
    public void addFence(DmaFence fence) {
        if (!held()) {
            throw new IllegalStateException("dma_resv_add_fence without the reservation lock held");
        }
        fences.add(fence);
    }

    /**
     * Waits until every fence has signalled or {@code timeoutNs} passed on {@code clock}
     * ({@code dma_resv_wait_timeout}), dropping the signalled ones; the caller holds the lock.
     *
     * @return the fences still unsignalled when the time ran out (empty when all retired)
     */
    public List<DmaFence> waitFences(long timeoutNs, LongSupplier clock) {
        long start = clock.getAsLong();
        while (true) {
            fences.removeIf(DmaFence::signaled);
            if (fences.isEmpty() || clock.getAsLong() - start >= timeoutNs) {
                return List.copyOf(fences);
            }
            Thread.onSpinWait();
        }
    }

    /** Fences not yet signalled. */
    public int pending() {
        lock.lock();
        try {
            fences.removeIf(DmaFence::signaled);
            return fences.size();
        } finally {
            lock.unlock();
        }
    }
}
