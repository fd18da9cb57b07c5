package io.dma4j.consumers.rdma;

import io.dma4j.api.DmaMapper;
import io.dma4j.consumers.mm.Hmm;
import io.dma4j.consumers.mm.HmmDmaMap;
import io.dma4j.consumers.mm.HmmRange;
import io.dma4j.consumers.mm.MmuIntervalNotifier;
import io.dma4j.consumers.mm.MmuNotifierRange;
import io.dma4j.consumers.mm.ProcessMemory;

import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * An on-demand-paging user memory ({@code struct ib_umem_odp}; drivers/infiniband/core/umem_odp.c,
 * v6.16): a page-aligned virtual range of a {@link ProcessMemory}, an interval notifier over
 * it, and the {@link HmmDmaMap} that holds one pfn word per page (and the IOVA reservation).
 *
 * <p>{@link #mapDmaAndLock} is {@code ib_umem_odp_map_dma_and_lock}: the fault loop with the
 * notifier sequence retry and the {@value #TIMEOUT_MS} ms timeout, returning with the umem
 * mutex held so the driver can map the entries and write its translation table before any
 * invalidation can run. An invalidation ({@link Invalidator}) takes the same mutex, moves the
 * notifier sequence, has the driver zap the device's entries, and only then unlinks the pages
 * ({@link #unmapDmaPages}), dirtying the ones mapped writable.
 *
 * <p>Thread safety: all methods may be called from any thread; the umem mutex orders faults
 * against invalidations.
 */
public final class UmemOdp {
    private long zapFailures;
    /** {@code HMM_RANGE_DEFAULT_TIMEOUT}: how long the fault loop retries a busy range. */
    public static final long TIMEOUT_MS = 1000;
    private static final long PAGE = ProcessMemory.PAGE_SIZE;

    /** The driver's part of an invalidation: stop the device from using entries {@code [first, first+count)}. */
    @FunctionalInterface
    public interface Invalidator {
        /** Called with the umem mutex held, before any page of the run is unlinked. */
        void zap(UmemOdp umem, int first, int count);
    }

    private final ProcessMemory mm;
    private final long start;
    private final long end;
    private final boolean writable;
    private final HmmDmaMap map;
    private final ReentrantLock mutex = new ReentrantLock();
    private final LongSupplier nanoClock;
    private final MmuIntervalNotifier notifier;
    private volatile Invalidator invalidator;
    private long npages;
    private long invalidations;
    private long retries;
    private volatile boolean released;

    private UmemOdp(ProcessMemory mm, DmaMapper mapper, long start, long end, boolean writable, HmmDmaMap.Design design, LongSupplier nanoClock) {
        this.mm = mm;
        this.start = start;
        this.end = end;
        this.writable = writable;
        this.nanoClock = nanoClock;
        this.map = HmmDmaMap.alloc(mapper, (int) ((end - start) / PAGE), PAGE, design);
        this.notifier = mm.notifierInsert(start, end - start, this::invalidate);
    }

    /**
     * {@code ib_umem_odp_get}: an ODP umem over {@code [va, va + length)} rounded out to pages.
     *
     * @param writable   whether the device may write (faults then request write access)
     * @param nanoClock  the clock for the fault loop's timeout ({@link System#nanoTime} in use)
     * @throws IllegalArgumentException {@code -EOVERFLOW} when the range wraps when aligned,
     *     {@code -EINVAL} for an empty range or one too large to mirror
     * @throws UnsupportedOperationException when the device cannot mirror (see {@link HmmDmaMap#alloc})
     */
    public static UmemOdp get(ProcessMemory mm, DmaMapper mapper, long va, long length, boolean writable, HmmDmaMap.Design design, LongSupplier nanoClock) {
        if (length <= 0) {
            throw new IllegalArgumentException("ib_umem_odp_get: length " + length + " (expected: > 0) (-EINVAL)");
        }
        long s = va & -PAGE;
        long e = va + length + PAGE - 1;
        if (va < 0 || va + length < va || e < va + length) {
            throw new IllegalArgumentException(String.format("ib_umem_odp_get: 0x%x+0x%x overflows when aligned to pages (-EOVERFLOW)", va, length));
        }
        e &= -PAGE;
        if ((e - s) / PAGE > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(String.format("ib_umem_odp_get: 0x%x pages (expected: fewer than 2^31) (-EINVAL)", (e - s) / PAGE));
        }
        return new UmemOdp(mm, mapper, s, e, writable, design, nanoClock);
    }

    /** Sets who zaps the device's entries on invalidation (the memory region, once it exists). */
    public void setInvalidator(Invalidator invalidator) {
        this.invalidator = invalidator;
    }

    /** The aligned start. */
    public long start() {
        return start;
    }

    /** The aligned end (exclusive). */
    public long end() {
        return end;
    }

    /** Whether the device may write. */
    public boolean writable() {
        return writable;
    }

    /** The address space. */
    public ProcessMemory mm() {
        return mm;
    }

    /** The DMA map (pfn words, IOVA state); read and change it only with the mutex held. */
    public HmmDmaMap map() {
        return map;
    }

    /** The umem mutex. */
    public ReentrantLock mutex() {
        return mutex;
    }

    /** Pages mapped for the device now ({@code umem_odp->npages}); the driver counts them up. */
    public long mappedPages() {
        mutex.lock();
        try {
            return npages;
        } finally {
            mutex.unlock();
        }
    }

    /** Counts one page newly mapped (the driver calls it with the mutex held). */
    public void pageMapped() {
        npages++;
    }

    /** Invalidations that hit this umem. */
    public long invalidations() {
        mutex.lock();
        try {
            return invalidations;
        } finally {
            mutex.unlock();
        }
    }

    /** Times the fault loop had to start again (a busy range or a sequence that moved). */
    public synchronized long retries() {
        return retries;
    }

    /**
     * {@code ib_umem_odp_map_dma_and_lock}: makes the pages of {@code [va, va + bcnt)} present
     * (writable when {@code write}) and snapshots their pfn words into {@link #map()}, then
     * returns <b>with the umem mutex held</b>; the caller maps the entries, updates the device
     * and unlocks. Retries while an invalidation is in progress, for at most
     * {@value #TIMEOUT_MS} ms by the umem's clock.
     *
     * @param fault whether to fault pages in (else only the pages present are reported)
     * @return the index of the first entry of the aligned range
     * @throws IllegalArgumentException {@code -EFAULT} when the range leaves the umem
     * @throws IllegalStateException {@code -EINVAL} when the umem is released or the mm closed
     * @throws OdpTimeoutException {@code -EBUSY} after the timeout
     * @throws io.dma4j.consumers.mm.HmmFaultException when a page cannot be faulted in
     */
    public int mapDmaAndLock(long va, long bcnt, boolean write, boolean fault) {
        if (bcnt <= 0 || va < start || va > end - bcnt) {
            throw new IllegalArgumentException(String.format("ib_umem_odp_map_dma_and_lock: 0x%x+0x%x outside the umem 0x%x..0x%x (-EFAULT)", va, bcnt, start, end));
        }
        long s = va & -PAGE;
        long e = (va + bcnt + PAGE - 1) & -PAGE;
        int first = (int) ((s - start) / PAGE);
        long flags = fault ? Hmm.REQ_FAULT | (write && writable ? Hmm.REQ_WRITE : 0) : 0;
        HmmRange range = new HmmRange(notifier, s, e, map.pfnList(), first).defaultFlags(flags).pfnFlagsMask(0);
        long deadline = nanoClock.getAsLong() + TIMEOUT_MS * 1_000_000;
        while (true) {
            if (released) {
                throw new IllegalStateException("ib_umem_odp_map_dma_and_lock: the umem is released (-EINVAL)");
            }
            range.notifierSeq(notifier.readBegin());
            boolean done;
            mm.mmapReadLock().lock();
            try {
                done = Hmm.rangeFault(range);
            } finally {
                mm.mmapReadLock().unlock();
            }
            if (!done) {
                retry();
                if (nanoClock.getAsLong() - deadline > 0) {
                    throw new OdpTimeoutException(s, e - s, TIMEOUT_MS);
                }
                continue;
            }
            mutex.lock();
            if (notifier.readRetry(range.notifierSeq())) {
                mutex.unlock();
                retry();
                continue;
            }
            return first;
        }
    }

    private synchronized void retry() {
        retries++;
    }

    /** Zaps of the device's entries that failed during an invalidation (the pages were unmapped regardless). */
    public long zapFailures() {
        mutex.lock();
        try {
            return zapFailures;
        } finally {
            mutex.unlock();
        }
    }

    private boolean invalidate(MmuIntervalNotifier sub, MmuNotifierRange range, long curSeq) {
        if (!range.blockable()) {
            return false; // mlx5_ib_invalidate_range: never sleeps for a non-blockable range
        }
        OdpEvents.Invalidation event = new OdpEvents.Invalidation();
        event.begin();
        mutex.lock();
        try {
            sub.setSeq(curSeq);
            invalidations++;
            long s = Math.max(start, range.start());
            long e = Math.min(end, range.end());
            if (s >= e || npages == 0) {
                return true;
            }
            int from = (int) ((s - start) / PAGE);
            int to = (int) ((e - start) / PAGE);
            Invalidator inv = invalidator;
            long[] pfns = map.pfnList();
            if (inv != null) { // zap the device's entries in runs of mapped pages, before anything is unlinked
                int run = -1;
                for (int i = from; i <= to; i++) {
                    boolean mapped = i < to && (pfns[i] & Hmm.DMA_MAPPED) != 0;
                    if (mapped && run < 0) {
                        run = i;
                    } else if (!mapped && run >= 0) {
                        try {
                            inv.zap(this, run, i - run);
                        } catch (RuntimeException ex) {
                            // an invalidation cannot fail (mlx5_ib_invalidate_range warns when the
                            // translation update fails and goes on): the pages are unmapped all the
                            // same, and a device that still uses them meets the unmapped IOVA
                            zapFailures++;
                        }
                        run = -1;
                    }
                }
            }
            unmapDmaPages(from, to);
            event.end();
            if (event.shouldCommit()) {
                event.start = s;
                event.size = e - s;
                event.pages = to - from;
                event.commit();
            }
            return true;
        } finally {
            mutex.unlock();
        }
    }

    /**
     * {@code ib_umem_odp_unmap_dma_pages}: unlinks entries {@code [from, to)}, marks pages that
     * were mapped writable dirty, and clears every flag of each entry. Mutex held; the device's
     * entries must already be zapped.
     */
    void unmapDmaPages(int from, int to) {
        long[] pfns = map.pfnList();
        for (int i = from; i < to; i++) {
            long pfn = pfns[i];
            if (map.unmapPfn(i)) {
                if ((pfn & Hmm.WRITE) != 0 && writable) {
                    mm.setPageDirty(Hmm.toPhys(pfn));
                }
                npages--;
            }
            pfns[i] &= ~Hmm.FLAGS;
        }
    }

    /**
     * {@code ib_umem_odp_release}: unmaps every page (the device's key must be gone or zapped),
     * removes the notifier and gives the IOVA reservation back. Idempotent.
     */
    public void release() {
        mutex.lock();
        try {
            if (released) {
                return;
            }
            released = true;
            unmapDmaPages(0, map.size());
        } finally {
            mutex.unlock();
        }
        notifier.remove();
        map.free();
    }
}
