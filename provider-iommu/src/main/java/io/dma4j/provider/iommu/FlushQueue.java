package io.dma4j.provider.iommu;

import io.dma4j.spi.DmaClock;

import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.lang.invoke.VarHandle;

/**
 * Lazy invalidation (the kernel's flush queue, {@code IOMMU_DOMAIN_DMA_FQ}): an unmap
 * clears the page table now but queues its IOVA; the IOTLB is flushed whole when a queue
 * is full or a timeout passes, and an IOVA returns to the allocator only after a flush
 * that <em>started after</em> its unmap has <em>finished</em> (start and finish counters
 * stamp the entries). Until then a device may still reach the old page through a stale
 * IOTLB entry: the exposure window.
 *
 * <p>Two shapes: per-thread rings of 256 slots (255 usable) with a 10 ms timeout, or one
 * shared ring of 32768 slots with a 1 s timeout (for IOMMUs whose flushes are expensive).
 *
 * <p>The timeout runs on the {@link DmaClock} the domain was given, so tests advance a
 * manual clock instead of waiting.
 *
 * <p>Thread safety: each ring has its own lock; counters are atomic.
 */
final class FlushQueue {
    /** Per-thread ring size and timeout. */
    static final int PER_THREAD_SLOTS = 256;
    static final long PER_THREAD_TIMEOUT_MS = 10;
    /** Single-ring size and timeout. */
    static final int SINGLE_SLOTS = 32768;
    static final long SINGLE_TIMEOUT_MS = 1000;

    /** What a flush does to the hardware, and where freed IOVAs go. */
    interface Owner {
        void flushIotlbAll();

        void freeIova(long pfn, long pages);
    }

    private static final class Ring {
        final long[] pfn;
        final long[] pages;
        final long[] stamp;
        int head;
        int tail;

        Ring(int slots) {
            pfn = new long[slots];
            pages = new long[slots];
            stamp = new long[slots];
        }

        int size() {
            return (tail - head + pfn.length) % pfn.length;
        }

        boolean full() {
            return (tail + 1) % pfn.length == head;
        }
    }

    private final Owner owner;
    private final DmaClock clock;
    private final boolean single;
    private final int slots;
    private final long timeoutMs;
    private final Ring shared;
    private final ThreadLocal<Ring> perThread;
    private final CopyOnWriteArrayList<Ring> rings = new CopyOnWriteArrayList<>();
    private final AtomicLong startCount = new AtomicLong();
    private final AtomicLong finishCount = new AtomicLong();
    private final AtomicBoolean timerArmed = new AtomicBoolean();
    private final AtomicLong fullFlushes = new AtomicLong();
    private final AtomicLong timeoutFlushes = new AtomicLong();
    private final Runnable timeout = this::timeout; // one object, so arming the timer allocates nothing

    FlushQueue(Owner owner, boolean single, DmaClock clock) {
        this.owner = owner;
        this.clock = clock;
        this.single = single;
        this.slots = single ? SINGLE_SLOTS : PER_THREAD_SLOTS;
        this.timeoutMs = single ? SINGLE_TIMEOUT_MS : PER_THREAD_TIMEOUT_MS;
        this.shared = single ? new Ring(slots) : null;
        if (single) {
            rings.add(shared);
        }
        this.perThread = ThreadLocal.withInitial(() -> {
            Ring r = new Ring(slots);
            rings.add(r);
            return r;
        });
    }

    /** Queues an unmapped IOVA range ({@code queue_iova}). */
    void queue(long pfn, long pages) {
        VarHandle.fullFence(); // the page-table clear is visible before any flush that may retire this entry
        Ring r = single ? shared : perThread.get();
        synchronized (r) {
            freeFinished(r);
            if (r.full()) {
                fullFlushes.incrementAndGet();
                // The kernel's queue_iova flushes once and adds the entry. If another thread's
                // flush started before ours and is still running, the finish count our flush
                // leaves can equal the ring's stamps, so nothing retires and the add would wrap
                // the ring to empty, losing every queued IOVA. Flush again until there is room:
                // each flush of ours raises the finish count, so this ends.
                do {
                    flushAll();
                    freeFinished(r);
                } while (r.full());
            }
            r.pfn[r.tail] = pfn;
            r.pages[r.tail] = pages;
            r.stamp[r.tail] = startCount.get();
            r.tail = (r.tail + 1) % r.pfn.length;
        }
        if (!timerArmed.get() && timerArmed.compareAndSet(false, true)) {
            clock.schedule(timeout, TimeUnit.MILLISECONDS.toNanos(timeoutMs));
        }
    }

    private void freeFinished(Ring r) {
        long finished = finishCount.get();
        while (r.head != r.tail && r.stamp[r.head] < finished) {
            owner.freeIova(r.pfn[r.head], r.pages[r.head]);
            r.head = (r.head + 1) % r.pfn.length;
        }
    }

    /** One full IOTLB flush, counted so that entries queued before it can be retired. */
    void flushAll() {
        startCount.incrementAndGet();
        owner.flushIotlbAll();
        finishCount.incrementAndGet();
    }

    private void timeout() {
        timerArmed.set(false);
        timeoutFlushes.incrementAndGet();
        drain();
    }

    /** Flushes now and frees every queued IOVA (what the timer does; also used when a domain goes away). */
    void drain() {
        flushAll();
        for (Ring r : rings) {
            synchronized (r) {
                freeFinished(r);
            }
        }
    }

    /** Entries waiting, over all rings. */
    long depth() {
        long n = 0;
        for (Ring r : rings) {
            synchronized (r) {
                n += r.size();
            }
        }
        return n;
    }

    long fullFlushes() {
        return fullFlushes.get();
    }

    long timeoutFlushes() {
        return timeoutFlushes.get();
    }

    boolean single() {
        return single;
    }
}
