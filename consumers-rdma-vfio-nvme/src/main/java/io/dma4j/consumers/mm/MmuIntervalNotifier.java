package io.dma4j.consumers.mm;

/**
 * A subscription to invalidations of one virtual range of a {@link ProcessMemory}
 * ({@code struct mmu_interval_notifier}, mm/mmu_notifier.c), with the kernel's sequence
 * protocol for mirroring page tables into a device without holding the mm's locks:
 *
 * <pre>{@code
 * again:
 *   long seq = notifier.readBegin();          // waits while an invalidation of the range runs
 *   mm.mmapReadLock().lock(); Hmm.rangeFault(range); mm.mmapReadLock().unlock();
 *   driverLock.lock();
 *   if (notifier.readRetry(seq)) { driverLock.unlock(); goto again; }
 *   ... program the device from the pfns ...
 *   driverLock.unlock();
 * }</pre>
 *
 * and in the {@link Ops#invalidate invalidate} callback, under the same driver lock:
 * {@link #setSeq(long) setSeq(curSeq)}, then remove the device's translations.
 *
 * <p>The sequence numbers follow {@code mmu_interval_notifier_insert},
 * {@code mn_itree_inv_start_range}/{@code mn_itree_inv_end},
 * {@code mmu_interval_read_begin} and {@code mmu_interval_read_retry} (v6.16): the mm's
 * sequence is odd while any invalidation that hits a subscription is in progress and becomes
 * even (+1) when the last one ends, waking waiters in {@code readBegin}.
 *
 * <p>Thread safety: all methods may be called from any thread.
 */
public final class MmuIntervalNotifier {
    /** The driver's half of the protocol ({@code struct mmu_interval_notifier_ops}). */
    @FunctionalInterface
    public interface Ops {
        /**
         * The range {@code range} overlapping this subscription is about to change.
         * Called with the mm's invalidation in progress; the implementation takes its own
         * lock, calls {@link MmuIntervalNotifier#setSeq setSeq(curSeq)} and stops the device
         * from using the pages before returning.
         *
         * @return {@code false} only when {@code range} is not blockable and the lock was
         *     not free: the invalidation is abandoned and the caller tries again later
         */
        boolean invalidate(MmuIntervalNotifier sub, MmuNotifierRange range, long curSeq);
    }

    private final ProcessMemory mm;
    private final long start;
    private final long end;
    private final Ops ops;
    volatile long invalidateSeq;
    volatile boolean removed;

    MmuIntervalNotifier(ProcessMemory mm, long start, long end, Ops ops) {
        this.mm = mm;
        this.start = start;
        this.end = end;
        this.ops = ops;
    }

    /** The address space this subscription watches. */
    public ProcessMemory mm() {
        return mm;
    }

    /** First byte of the watched range. */
    public long start() {
        return start;
    }

    /** One past the last byte of the watched range. */
    public long end() {
        return end;
    }

    Ops ops() {
        return ops;
    }

    /**
     * Starts a read side critical section ({@code mmu_interval_read_begin}): returns the
     * sequence to check with {@link #readRetry}, waiting first while an invalidation of this
     * range is in progress (so a fault never starts from pages about to go away).
     */
    public long readBegin() {
        return mm.subscriptions().readBegin(this);
    }

    /**
     * Whether an invalidation started since {@code seq} was read ({@code mmu_interval_read_retry});
     * call under the lock the invalidate callback takes. {@code true}: drop what was collected
     * and start again.
     */
    public boolean readRetry(long seq) {
        return invalidateSeq != seq;
    }

    /** Whether an invalidation started since {@code seq}, without the lock ({@code mmu_interval_check_retry}). */
    public boolean checkRetry(long seq) {
        return invalidateSeq != seq;
    }

    /**
     * Records the sequence of the invalidation in progress ({@code mmu_interval_set_seq}); the
     * invalidate callback calls it under the driver's lock, making concurrent readers retry.
     */
    public void setSeq(long curSeq) {
        invalidateSeq = curSeq;
    }

    /**
     * Removes the subscription ({@code mmu_interval_notifier_remove}), waiting for an
     * invalidation of it in progress to end. Idempotent.
     */
    public void remove() {
        mm.subscriptions().remove(this);
    }

    @Override
    public String toString() {
        return String.format("MmuIntervalNotifier[0x%x-0x%x]", start, end);
    }
}
