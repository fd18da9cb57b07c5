package io.dma4j.consumers.mm;

import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The mm's interval-notifier state ({@code struct mmu_notifier_subscriptions}): the
 * subscriptions, the invalidation sequence (odd while invalidating) and the count of
 * invalidations in progress.
 */
final class Subscriptions {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition seqChanged = lock.newCondition();
    private final CopyOnWriteArrayList<MmuIntervalNotifier> subs = new CopyOnWriteArrayList<>();
    /** {@code invalidate_seq}: starts at 2 as in {@code __mmu_notifier_register}. */
    private long seq = 2;
    private int activeRanges;

    MmuIntervalNotifier insert(ProcessMemory mm, long start, long end, MmuIntervalNotifier.Ops ops) {
        MmuIntervalNotifier sub = new MmuIntervalNotifier(mm, start, end, ops);
        lock.lock();
        try {
            if (activeRanges > 0) {
                // An invalidation runs: the new subscription must look "being invalidated"
                // so its first readBegin waits for the end (the kernel defers the tree insert
                // and sets the subscription's seq to the mm's odd seq).
                seq |= 1;
                sub.invalidateSeq = seq;
            } else {
                sub.invalidateSeq = seq - 1;
            }
            subs.add(sub);
        } finally {
            lock.unlock();
        }
        return sub;
    }

    void remove(MmuIntervalNotifier sub) {
        lock.lock();
        try {
            if (sub.removed) {
                return;
            }
            long s = sub.invalidateSeq;
            while (activeRanges > 0 && s == seq) {
                seqChanged.awaitUninterruptibly();
            }
            sub.removed = true;
            subs.remove(sub);
        } finally {
            lock.unlock();
        }
    }

    long readBegin(MmuIntervalNotifier sub) {
        long s;
        boolean invalidating;
        lock.lock();
        try {
            s = sub.invalidateSeq;
            invalidating = s == seq;
            while (invalidating && seq == s) {
                seqChanged.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
        return s;
    }

    /**
     * Runs the callbacks of every subscription overlapping {@code range}
     * ({@code mn_itree_invalidate}); {@code false} if one refused (non-blockable), in which
     * case the invalidation has already been ended.
     */
    boolean invalidateStart(MmuNotifierRange range) {
        long cur;
        lock.lock();
        try {
            activeRanges++;
            boolean hit = false;
            for (MmuIntervalNotifier s : subs) {
                hit |= range.overlaps(s.start(), s.end());
            }
            if (hit) {
                seq |= 1;
            }
            cur = seq;
        } finally {
            lock.unlock();
        }
        for (MmuIntervalNotifier s : subs) {
            if (!s.removed && range.overlaps(s.start(), s.end())) {
                if (!s.ops().invalidate(s, range, cur)) {
                    if (range.blockable()) {
                        continue; // the kernel WARNs: a blockable range must not be refused
                    }
                    invalidateEnd();
                    return false;
                }
            }
        }
        return true;
    }

    void invalidateEnd() {
        lock.lock();
        try {
            if (--activeRanges > 0) {
                return;
            }
            if ((seq & 1) != 0) {
                seq++;
            }
            seqChanged.signalAll();
        } finally {
            lock.unlock();
        }
    }

    int count() {
        return subs.size();
    }

    long seqForTests() {
        lock.lock();
        try {
            return seq;
        } finally {
            lock.unlock();
        }
    }
}
