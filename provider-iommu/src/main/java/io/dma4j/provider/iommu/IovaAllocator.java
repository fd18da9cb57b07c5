package io.dma4j.provider.iommu;

import io.dma4j.spi.DmaClock;

import java.lang.ref.WeakReference;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An IOVA allocator in the manner of {@code drivers/iommu/iova.c}. Units are page frame
 * numbers of the domain granule ("pfns"); a range is {@code [pfn, pfn + size)}.
 *
 * <p><b>Slow path.</b> Allocated ranges are kept in a red-black tree under one lock
 * ({@link IovaTree}, with the kernel's placement rules: see there). An allocation walks
 * down from a remembered position (one for limits at or below 4 GiB, one above) for the
 * first gap that holds the size, aligned to the size rounded up to a power of two, and
 * retries once between the limit and that position before failing. Pfns below
 * {@code startPfn} (at least pfn 0) are never handed out. A size that failed fails fast for
 * limits at or below 4 GiB until something below 4 GiB is freed. The tree's nodes are
 * pooled: the slow path allocates nothing once the pool holds the peak number of ranges.
 * Reserved ranges ({@link #reserve}) stay in the tree for the allocator's life.
 *
 * <p><b>Fast path.</b> Sizes up to 32 granules are rounded up to a power of two and served
 * from range caches, one per size class: each thread has a loaded and a previous magazine
 * of up to 127 pfns; full magazines go to a shared depot and come back from it. A miss
 * falls back to the tree; if the tree is exhausted and the caller allows it, the caches
 * are drained back into the tree and the allocation is retried once. The cached path
 * takes no lock and allocates nothing.
 *
 * <p>Differences from the kernel: caches are per thread, not per CPU, and a live thread's
 * magazines are drained by that thread at its next call after a drain was requested (the
 * kernel drains every CPU's magazines at once under their locks); the magazines of threads
 * that have ended are drained at once. The depot is trimmed (one magazine back to the tree
 * when it holds more magazines than there are processors) at most every 100 ms, when
 * magazines are pushed, instead of by a timer.
 *
 * <p>Thread safety: safe for concurrent use.
 */
public final class IovaAllocator {
    /** Size classes of the range caches: 1, 2, 4, 8, 16 and 32 granules. */
    public static final int RCACHE_CLASSES = 6;
    /** Pfns per magazine. */
    public static final int MAG_SIZE = 127;
    /** Largest cached size in granules. */
    public static final long RCACHE_MAX_GRANULES = 1L << (RCACHE_CLASSES - 1);
    private static final long TRIM_PERIOD_NS = 100_000_000L;
    private final DmaClock clock;

    private final int shift;
    private final long startPfn;
    private final long dma32Pfn;

    // ---- slow path (guarded by 'tree')
    private final IovaTree tree;
    private long treeGranules;
    private long unknownFrees;
    private long peakTreeGranules;

    // ---- fast path
    private final Depot[] depots = new Depot[RCACHE_CLASSES];
    private final ThreadLocal<ThreadCache> caches = ThreadLocal.withInitial(this::register);
    private final CopyOnWriteArrayList<ThreadCache> allCaches = new CopyOnWriteArrayList<>();
    private volatile int drainEpoch;

    /** A magazine of cached pfns of one size class. */
    static final class Magazine {
        final long[] pfns = new long[MAG_SIZE];
        int size;
    }

    /** A size class's shared depot of full magazines, with spare empty ones. */
    private static final class Depot {
        final ArrayDeque<Magazine> full = new ArrayDeque<>();
        final ArrayDeque<Magazine> spare = new ArrayDeque<>();
        long lastTrim;
    }

    /** One thread's magazines; only its owner touches them, unless the owner has ended. */
    private static final class ThreadCache {
        final WeakReference<Thread> owner;
        final Magazine[] loaded = new Magazine[RCACHE_CLASSES];
        final Magazine[] prev = new Magazine[RCACHE_CLASSES];
        int epoch;

        ThreadCache(Thread owner, int epoch) {
            this.owner = new WeakReference<>(owner);
            this.epoch = epoch;
            for (int i = 0; i < RCACHE_CLASSES; i++) {
                loaded[i] = new Magazine();
                prev[i] = new Magazine();
            }
        }

        boolean ownerGone() {
            Thread t = owner.get();
            return t == null || !t.isAlive();
        }
    }

    /** As {@link #IovaAllocator(int, long, DmaClock)} on the system clock. */
    public IovaAllocator(int granuleShift, long startPfn) {
        this(granuleShift, startPfn, DmaClock.SYSTEM);
    }

    /**
     * @param granuleShift log2 of the domain granule (12 for 4 KiB)
     * @param startPfn     lowest pfn that may be handed out (at least 1)
     */
    public IovaAllocator(int granuleShift, long startPfn, DmaClock clock) {
        this.clock = clock;
        if (startPfn < 1) {
            throw new IllegalArgumentException("startPfn: " + startPfn + " (expected: >= 1; IOVA 0 is never handed out)");
        }
        this.shift = granuleShift;
        this.startPfn = startPfn;
        this.dma32Pfn = 1L << (32 - granuleShift);
        this.tree = new IovaTree(dma32Pfn);
        for (int i = 0; i < RCACHE_CLASSES; i++) {
            depots[i] = new Depot();
        }
    }

    /** log2 of the granule. */
    public int granuleShift() {
        return shift;
    }

    /** The first pfn at 4 GiB. */
    public long dma32Pfn() {
        return dma32Pfn;
    }

    private ThreadCache register() {
        ThreadCache c = new ThreadCache(Thread.currentThread(), drainEpoch);
        allCaches.add(c);
        return c;
    }

    // ------------------------------------------------------------------ fast path

    /**
     * Allocates {@code size} granules at or below {@code limitPfn} (inclusive)
     * ({@code alloc_iova_fast}).
     *
     * @param flushCaches on a tree miss, drain the caches into the tree and retry once
     * @return the first pfn, or 0 when no space is left
     */
    public long allocFast(long size, long limitPfn, boolean flushCaches) {
        if (size <= 0) {
            throw new IllegalArgumentException("size: " + size + " granules (expected: > 0)");
        }
        int cls = -1;
        if (size <= RCACHE_MAX_GRANULES) {
            size = roundUpPow2(size);
            cls = Long.numberOfTrailingZeros(size);
            long pfn = cacheGet(cls, limitPfn, size);
            if (pfn != 0) {
                return pfn;
            }
        }
        long pfn = treeAlloc(size, limitPfn);
        if (pfn == 0 && flushCaches) {
            drainCaches();
            pfn = treeAlloc(size, limitPfn);
        }
        return pfn;
    }

    /**
     * Frees a range from {@link #allocFast} with the size that was asked for ({@code free_iova_fast}).
     *
     * @return false when the range went to the tree and no range there held {@code pfn} (the
     *         kernel ignores that; see {@link #treeFree}); a range the caches take is not checked
     */
    public boolean freeFast(long pfn, long size) {
        if (size <= RCACHE_MAX_GRANULES) {
            int cls = Long.numberOfTrailingZeros(roundUpPow2(size));
            if (cachePut(cls, pfn)) {
                return true;
            }
        }
        return treeFree(pfn);
    }

    private ThreadCache cache() {
        ThreadCache c = caches.get();
        int epoch = drainEpoch;
        if (c.epoch != epoch) { // a drain was asked for: give back what this thread holds
            c.epoch = epoch;
            drainOwn(c);
        }
        return c;
    }

    /** The kernel's __iova_rcache_get: pop from the loaded magazine, else the previous one, else one from the depot. */
    private long cacheGet(int cls, long limitPfn, long size) {
        ThreadCache c = cache();
        Magazine m = c.loaded[cls];
        if (m.size == 0) {
            Magazine p = c.prev[cls];
            if (p.size > 0) {
                c.loaded[cls] = p;
                c.prev[cls] = m;
                m = p;
            } else {
                Depot d = depots[cls];
                synchronized (d) {
                    Magazine full = d.full.pollFirst();
                    if (full == null) {
                        return 0;
                    }
                    d.spare.addFirst(m); // m is empty
                    c.loaded[cls] = full;
                    m = full;
                }
            }
        }
        return pop(m, limitPfn, size);
    }

    /** Pops a pfn whose range ends at or below the limit, scanning from the top (swap-remove). */
    private static long pop(Magazine m, long limitPfn, long size) {
        for (int i = m.size - 1; i >= 0; i--) {
            long pfn = m.pfns[i];
            if (pfn + size - 1 <= limitPfn) {
                m.pfns[i] = m.pfns[--m.size];
                return pfn;
            }
        }
        return 0;
    }

    private boolean cachePut(int cls, long pfn) {
        ThreadCache c = cache();
        Magazine m = c.loaded[cls];
        if (m.size < MAG_SIZE) {
            m.pfns[m.size++] = pfn;
            return true;
        }
        Magazine p = c.prev[cls];
        if (p.size < MAG_SIZE) {
            c.loaded[cls] = p;
            c.prev[cls] = m;
            p.pfns[p.size++] = pfn;
            return true;
        }
        Depot d = depots[cls];
        Magazine trimmed = null;
        synchronized (d) {
            Magazine empty = d.spare.pollFirst();
            if (empty == null) {
                empty = new Magazine();
            }
            d.full.addFirst(m);
            c.loaded[cls] = empty;
            empty.pfns[empty.size++] = pfn;
            long now = clock.nanoTime();
            if (d.full.size() > Runtime.getRuntime().availableProcessors() && now - d.lastTrim >= TRIM_PERIOD_NS) {
                d.lastTrim = now;
                trimmed = d.full.pollFirst(); // iova_depot_pop takes the head: the magazine pushed last
            }
        }
        if (trimmed != null) {
            freeMagazine(trimmed);
            synchronized (d) {
                d.spare.addFirst(trimmed);
            }
        }
        return true;
    }

    private void freeMagazine(Magazine m) {
        synchronized (tree) {
            for (int i = 0; i < m.size; i++) {
                treeFreeLocked(m.pfns[i]);
            }
        }
        m.size = 0;
    }

    private void drainOwn(ThreadCache c) {
        for (int cls = 0; cls < RCACHE_CLASSES; cls++) {
            freeMagazine(c.loaded[cls]);
            freeMagazine(c.prev[cls]);
        }
    }

    /**
     * Returns cached ranges to the tree (the kernel's flush of the rcaches before a retry):
     * this thread's magazines, the depots and those of ended threads now; other live
     * threads' at their next call.
     */
    public void drainCaches() {
        drainEpoch++;
        ThreadCache own = caches.get();
        own.epoch = drainEpoch;
        drainOwn(own);
        for (int cls = 0; cls < RCACHE_CLASSES; cls++) {
            Depot d = depots[cls];
            List<Magazine> taken = new ArrayList<>();
            synchronized (d) {
                taken.addAll(d.full);
                d.full.clear();
            }
            for (Magazine m : taken) {
                freeMagazine(m);
            }
            synchronized (d) {
                d.spare.addAll(taken);
            }
        }
        for (Iterator<ThreadCache> it = allCaches.iterator(); it.hasNext(); ) {
            ThreadCache c = it.next();
            if (c != own && c.ownerGone()) {
                drainOwn(c); // the owner has ended: its last writes happen-before isAlive() answering false
                allCaches.remove(c);
            }
        }
    }

    // ------------------------------------------------------------------ slow path

    /**
     * Allocates from the tree: top-down first fit below {@code limitPfn}, aligned to the
     * size rounded up to a power of two ({@code alloc_iova} with size_aligned, that is
     * {@code __alloc_and_insert_iova_range}).
     *
     * @return the first pfn, or 0
     */
    public long treeAlloc(long size, long limitPfn) {
        synchronized (tree) {
            long pfn = tree.alloc(size, limitPfn + 1, startPfn);
            if (pfn != 0) {
                treeGranules += size;
                peakTreeGranules = Math.max(peakTreeGranules, treeGranules);
            }
            return pfn;
        }
    }

    /**
     * Frees the allocated range that contains {@code pfn} ({@code free_iova}).
     *
     * @return whether a range was found; the kernel ignores a pfn no range holds, and so does
     *         this method: the caller decides whether that is a misuse to report
     */
    public boolean treeFree(long pfn) {
        synchronized (tree) {
            return treeFreeLocked(pfn);
        }
    }

    private boolean treeFreeLocked(long pfn) {
        long freed = tree.free(pfn);
        if (freed == 0) {
            unknownFrees++;
            return false;
        }
        treeGranules -= freed;
        return true;
    }

    /**
     * Keeps {@code [loPfn, hiPfn]} out of every allocation for the life of the allocator
     * ({@code reserve_iova}): host-bridge windows, MSI doorbells, firmware regions. Overlapping
     * reservations merge as the kernel merges them; a reserved range is never freed.
     *
     * @throws IllegalArgumentException for an empty or negative range
     * @throws IllegalStateException    when the range overlaps an allocated (not reserved) range
     */
    public void reserve(long loPfn, long hiPfn) {
        if (loPfn < 0 || hiPfn < loPfn) {
            throw new IllegalArgumentException(String.format("reserved range [0x%x, 0x%x] (expected: 0 <= lo <= hi)", loPfn, hiPfn));
        }
        synchronized (tree) {
            tree.reserve(loPfn, hiPfn);
        }
    }

    /** Reserved ranges, as first pfn to last pfn (a copy). */
    public Map<Long, Long> reservedRanges() {
        synchronized (tree) {
            return tree.ranges(true);
        }
    }

    /** {@code max32_alloc_size}: the size below which a request at or below 4 GiB still walks the tree. */
    long max32AllocSize() {
        synchronized (tree) {
            return tree.max32AllocSize();
        }
    }

    /** Frees of pfns no range held (see {@link #treeFree}); a non-zero count means a caller's bug. */
    public long unknownFrees() {
        synchronized (tree) {
            return unknownFrees;
        }
    }

    // ------------------------------------------------------------------ figures

    /** Granules reserved in the tree (live ranges plus cached ones). */
    public long treeGranules() {
        synchronized (tree) {
            return treeGranules;
        }
    }

    /** The highest {@link #treeGranules()} seen. */
    public long peakTreeGranules() {
        synchronized (tree) {
            return peakTreeGranules;
        }
    }

    /** Granules held in magazines and depots (approximate while other threads run). */
    public long cachedGranules() {
        long n = 0;
        for (int cls = 0; cls < RCACHE_CLASSES; cls++) {
            synchronized (depots[cls]) {
                for (Magazine m : depots[cls].full) {
                    n += (long) m.size << cls;
                }
            }
            for (ThreadCache c : allCaches) {
                n += ((long) c.loaded[cls].size + c.prev[cls].size) << cls;
            }
        }
        return n;
    }

    /** Ranges in the tree, as pfn to last pfn (a copy, for checks and tests). */
    public Map<Long, Long> ranges() {
        synchronized (tree) {
            return tree.ranges(false);
        }
    }

    /**
     * Checks the tree's invariants: ranges ordered, disjoint and above pfn 0, the red-black
     * rules, parent and neighbour links, and the pool's accounting.
     *
     * @throws IllegalStateException naming the first broken one
     */
    public void checkInvariants() {
        synchronized (tree) {
            tree.check(startPfn);
        }
    }

    static long roundUpPow2(long v) {
        return v <= 1 ? 1 : Long.highestOneBit(v - 1) << 1;
    }
}
