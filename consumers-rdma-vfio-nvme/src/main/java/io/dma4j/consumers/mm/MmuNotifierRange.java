package io.dma4j.consumers.mm;

/**
 * One invalidation ({@code struct mmu_notifier_range}): the virtual range {@code [start, end)},
 * the event, and whether the callback may sleep. A non-blockable range comes from a context
 * that cannot wait (the kernel's OOM reaper); a callback that would have to wait answers
 * {@code false} and the invalidation is abandoned, to be tried again.
 *
 * @param start first byte
 * @param end   one past the last byte
 * @param event why
 * @param blockable whether the callback may block (take a mutex)
 */
public record MmuNotifierRange(long start, long end, MmuNotifierEvent event, boolean blockable) {
    /** Whether {@code [s, e)} overlaps this range. */
    public boolean overlaps(long s, long e) {
        return s < end && start < e;
    }
}
