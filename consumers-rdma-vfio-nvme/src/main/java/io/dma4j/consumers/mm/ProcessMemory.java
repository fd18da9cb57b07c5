package io.dma4j.consumers.mm;

import io.dma4j.platform.memory.PageAllocator;
import io.dma4j.platform.memory.PhysicalAddressSpace;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A process address space (the kernel's {@code mm_struct}) over the simulated DRAM: VMAs of
 * 4 KiB pages (or 2 MiB huge pages), each backed by a page frame from the machine's
 * {@link PageAllocator} on first touch (zeroed), read-only or writable, and the events that
 * make device mirrors stale, each announced to the {@link MmuIntervalNotifier}s over the
 * range before the page tables change and ended after:
 *
 * <ul>
 *   <li>{@link #munmap} ({@link MmuNotifierEvent#UNMAP}) and {@link #discard}
 *       ({@code MADV_DONTNEED}, {@link MmuNotifierEvent#CLEAR}): the frames are freed;
 *   <li>{@link #mprotect} to read-only ({@link MmuNotifierEvent#PROTECTION_VMA}) and
 *       {@link #writeProtect} ({@code page_mkclean}, {@link MmuNotifierEvent#PROTECTION_PAGE}:
 *       the next CPU write makes the page writable again, and the frame is clean);
 *   <li>{@link #migrate} ({@link MmuNotifierEvent#MIGRATE}): the data is copied to a new frame
 *       and the page remapped; the old frame is freed;
 *   <li>{@link #fork}: private writable pages become copy-on-write in both processes
 *       ({@link MmuNotifierEvent#PROTECTION_PAGE} on the parent); the first write in either
 *       breaks the sharing ({@link MmuNotifierEvent#CLEAR}, new frame, data copied).
 * </ul>
 *
 * <p>{@link #mmapPeer} maps peer memory (a P2P BAR's pages) into the process, as a driver's
 * {@code mmap} of ZONE_DEVICE memory does: present, shared, never freed by the mm.
 *
 * <p>Differences from the kernel, on purpose: a first read fault maps a zeroed frame (not the
 * shared zero page), so a read-then-write needs no second fault; ranges given to
 * {@link #munmap}, {@link #discard}, {@link #mprotect} and {@link #writeProtect} in a huge
 * VMA must be 2 MiB aligned (the kernel would split the huge page).
 *
 * <p>Locks, as in the kernel: the mmap lock (a read-write lock: faults and CPU accesses read,
 * every event above writes) and the page-table lock for installing entries. Notifier
 * callbacks run with the mmap lock held for writing (or, for a copy-on-write break, read) but
 * never under the page-table lock. Thread safety: all methods may be called from any thread.
 */
public final class ProcessMemory implements AutoCloseable {
    /** Base page size. */
    public static final long PAGE_SIZE = PageAllocator.PAGE_SIZE;
    /** Huge page size (a PMD mapping). */
    public static final long HUGE_PAGE_SIZE = 2L << 20;
    /** Order of a huge page in base pages. */
    public static final int HUGE_ORDER = 9;
    static final long PRESENT = 1;
    static final long WRITE = 2;
    static final long COW = 4;
    private static final long FRAME_MASK = ~(PAGE_SIZE - 1);
    private static final long MMAP_BASE = 0x7f00_0000_0000L;

    /** A mapped range with one page-table entry per base page: frame | PRESENT | WRITE | COW. */
    static final class Vma {
        final long start;
        final long end;
        boolean writable;
        final boolean huge;
        /** Peer memory: the physical base the range maps linearly; -1 for anonymous memory. */
        final long peerBase;
        final long[] pte;

        Vma(long start, long end, boolean writable, boolean huge, long peerBase, long[] pte) {
            this.start = start;
            this.end = end;
            this.writable = writable;
            this.huge = huge;
            this.peerBase = peerBase;
            this.pte = pte;
        }

        int unitPages() {
            return huge ? 1 << HUGE_ORDER : 1;
        }

        int index(long va) {
            return (int) ((va - start) >>> PageAllocator.PAGE_SHIFT);
        }

        boolean peer() {
            return peerBase >= 0;
        }
    }

    /**
     * The dirty flag of every frame, one bit per 4 KiB frame in chunks made on first use: no
     * allocation when a page is dirtied or cleaned (an invalidation dirties hundreds at once).
     */
    private static final class DirtyBits {
        private static final int CHUNK_SHIFT = 18; // frames per chunk: 2^18 (1 GiB of memory, 32 KiB of bits)
        private final AtomicReferenceArray<AtomicLongArray> chunks = new AtomicReferenceArray<>(1 << 16); // 2^34 frames: 64 TiB

        private AtomicLongArray chunk(long pfn, boolean create) {
            long c = pfn >>> CHUNK_SHIFT;
            if (c >= chunks.length()) {
                throw new IllegalArgumentException(String.format("frame 0x%x is beyond the 64 TiB the dirty map covers", pfn << 12));
            }
            AtomicLongArray a = chunks.get((int) c);
            if (a == null && create) {
                chunks.compareAndSet((int) c, null, new AtomicLongArray(1 << (CHUNK_SHIFT - 6)));
                a = chunks.get((int) c);
            }
            return a;
        }

        /** The index of frame {@code pfn}'s word in its chunk. */
        private static int word(long pfn) {
            return (int) ((pfn & ((1 << CHUNK_SHIFT) - 1)) >>> 6);
        }

        void set(long frame) {
            long pfn = frame >>> 12;
            chunk(pfn, true).getAndAccumulate(word(pfn), 1L << (pfn & 63), (x, y) -> x | y);
        }

        /** Clears the flag; returns whether it was set. */
        boolean clear(long frame) {
            long pfn = frame >>> 12;
            AtomicLongArray a = chunk(pfn, false);
            long bit = 1L << (pfn & 63);
            return a != null && (a.getAndAccumulate(word(pfn), ~bit, (x, y) -> x & y) & bit) != 0;
        }

        boolean get(long frame) {
            long pfn = frame >>> 12;
            AtomicLongArray a = chunk(pfn, false);
            return a != null && (a.get(word(pfn)) & (1L << (pfn & 63))) != 0;
        }
    }

    /** Frames shared between forked address spaces (copy-on-write counts) and dirty frames. */
    private static final class Frames {
        final PhysicalAddressSpace ram;
        final PageAllocator pages;
        final Map<Long, Integer> sharers = new ConcurrentHashMap<>();
        final DirtyBits dirty = new DirtyBits();

        Frames(PhysicalAddressSpace ram, PageAllocator pages) {
            this.ram = ram;
            this.pages = pages;
        }

        long alloc(int order) {
            long f = pages.allocPages(order);
            ram.fill(f, PAGE_SIZE << order, (byte) 0);
            return f;
        }
    }

    private final Frames frames;
    private final ReentrantReadWriteLock mmap = new ReentrantReadWriteLock();
    private final Object ptl = new Object();
    private final TreeMap<Long, Vma> vmas = new TreeMap<>();
    private final Subscriptions subscriptions = new Subscriptions();
    private final AtomicLong cpuFaults = new AtomicLong();
    private final AtomicLong invalidations = new AtomicLong();
    private final AtomicLong residentPages = new AtomicLong();
    private long nextVa = MMAP_BASE;
    private boolean closed;

    /** An empty address space whose pages come from {@code pages} in {@code ram}. */
    public ProcessMemory(PhysicalAddressSpace ram, PageAllocator pages) {
        this(new Frames(ram, pages));
    }

    private ProcessMemory(Frames frames) {
        this.frames = frames;
    }

    // ------------------------------------------------------------------ mappings

    /**
     * Maps {@code length} bytes of anonymous memory at an address of the mm's choosing
     * (2 MiB aligned); nothing is populated until touched.
     *
     * @param length   bytes, a positive multiple of the page size (2 MiB when {@code huge})
     * @param writable whether the mapping allows writes
     * @param huge     whether to back it with 2 MiB pages
     * @return the start address
     * @throws IllegalArgumentException for a bad length
     */
    public long mmap(long length, boolean writable, boolean huge) {
        mmap.writeLock().lock();
        try {
            checkOpen();
            long va = nextVa;
            insertVma(va, length, writable, huge, -1);
            nextVa = va + roundUp(length, HUGE_PAGE_SIZE) + HUGE_PAGE_SIZE; // a guard gap between mappings
            return va;
        } finally {
            mmap.writeLock().unlock();
        }
    }

    /**
     * Maps {@code length} bytes of peer memory starting at physical address {@code phys}
     * (pages of a P2P BAR), writable and present from the start, as a driver's {@code mmap}
     * of device memory does. The mm never frees these pages.
     *
     * @return the start address
     */
    public long mmapPeer(long phys, long length) {
        if ((phys & (PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException(String.format("peer memory 0x%x is not page aligned", phys));
        }
        mmap.writeLock().lock();
        try {
            checkOpen();
            long va = nextVa;
            Vma v = insertVma(va, length, true, false, phys);
            for (int i = 0; i < v.pte.length; i++) {
                v.pte[i] = (phys + (long) i * PAGE_SIZE) | PRESENT | WRITE;
            }
            nextVa = va + roundUp(length, HUGE_PAGE_SIZE) + HUGE_PAGE_SIZE;
            return va;
        } finally {
            mmap.writeLock().unlock();
        }
    }

    private Vma insertVma(long va, long length, boolean writable, boolean huge, long peerBase) {
        long unit = huge ? HUGE_PAGE_SIZE : PAGE_SIZE;
        if (length <= 0 || length % unit != 0 || length / PAGE_SIZE > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("mmap length " + length + " (expected: a positive multiple of " + unit + " bytes)");
        }
        Vma v = new Vma(va, va + length, writable, huge, peerBase, new long[(int) (length / PAGE_SIZE)]);
        vmas.put(va, v);
        return v;
    }

    /** Unmaps {@code [va, va + length)} (every VMA part in it); frames are freed after the notifiers ran. */
    public void munmap(long va, long length) {
        change(va, length, MmuNotifierEvent.UNMAP, true, vma -> {
            clearPtes(vma, 0, vma.pte.length);
            vmas.remove(vma.start);
        });
    }

    /** {@code madvise(MADV_DONTNEED)}: drops the pages of the range; the next touch gets zeroed frames. */
    public void discard(long va, long length) {
        change(va, length, MmuNotifierEvent.CLEAR, true, vma -> clearPtes(vma, 0, vma.pte.length));
    }

    /**
     * {@link #discard} from a context that cannot block (the OOM reaper's
     * {@code mmu_notifier_invalidate_range_start_nonblock}): when a notifier cannot take its lock
     * without waiting, nothing changes and {@code false} is returned.
     */
    public boolean tryDiscard(long va, long length) {
        return change(va, length, MmuNotifierEvent.CLEAR, false, vma -> clearPtes(vma, 0, vma.pte.length));
    }

    /** {@code mprotect}: changes the range's protection (write to read-only invalidates mirrors). */
    public void mprotect(long va, long length, boolean writable) {
        change(va, length, MmuNotifierEvent.PROTECTION_VMA, true, vma -> {
            vma.writable = writable;
            if (!writable) {
                for (int i = 0; i < vma.pte.length; i++) {
                    vma.pte[i] &= ~WRITE;
                }
            }
        });
    }

    /**
     * Write-protects the present pages of the range and marks their frames clean
     * ({@code page_mkclean} before writeback); the VMA stays writable, so the next CPU or
     * device write fault makes the page writable again.
     */
    public void writeProtect(long va, long length) {
        change(va, length, MmuNotifierEvent.PROTECTION_PAGE, true, vma -> {
            for (int i = 0; i < vma.pte.length; i++) {
                if ((vma.pte[i] & PRESENT) != 0) {
                    vma.pte[i] &= ~WRITE;
                    frames.dirty.clear(vma.pte[i] & FRAME_MASK);
                }
            }
        });
    }

    /**
     * Migrates the page (the huge page, in a huge VMA) containing {@code va} to a new frame:
     * notifiers, copy, remap, old frame freed. A page not present is left alone.
     *
     * @return the new frame's physical address, or -1 when the page was not present
     * @throws IllegalArgumentException for peer memory or an address with no VMA
     */
    public long migrate(long va) {
        mmap.writeLock().lock();
        try {
            checkOpen();
            Vma vma = vmaAt(va);
            if (vma == null) {
                throw new IllegalArgumentException(String.format("migrate: no mapping at 0x%x", va));
            }
            if (vma.peer()) {
                throw new IllegalArgumentException(String.format("migrate: 0x%x is peer memory, which cannot migrate", va));
            }
            int unit = vma.unitPages();
            int head = vma.index(va) & ~(unit - 1);
            if ((vma.pte[head] & PRESENT) == 0) {
                return -1;
            }
            long start = vma.start + (long) head * PAGE_SIZE;
            MmuNotifierRange range = new MmuNotifierRange(start, start + unit * PAGE_SIZE, MmuNotifierEvent.MIGRATE, true);
            subscriptions.invalidateStart(range);
            invalidations.incrementAndGet();
            long old = vma.pte[head] & FRAME_MASK;
            long to = frames.pages.allocPages(vma.huge ? HUGE_ORDER : 0);
            frames.ram.copy(old, to, unit * PAGE_SIZE);
            boolean shared = frames.sharers.containsKey(old);
            synchronized (ptl) {
                for (int i = 0; i < unit; i++) {
                    vma.pte[head + i] = (to + i * PAGE_SIZE) | (vma.pte[head + i] & ~FRAME_MASK);
                }
            }
            if (frames.dirty.clear(old)) {
                frames.dirty.set(to);
            }
            if (shared) {
                // the other sharers keep the old frame; this process owns the copy (still COW-marked: harmless)
                release(old);
            } else {
                frames.pages.freePages(old);
            }
            subscriptions.invalidateEnd();
            return to;
        } finally {
            mmap.writeLock().unlock();
        }
    }

    /**
     * A copy of this address space as {@code fork} makes it: anonymous pages shared
     * copy-on-write (write-protected in both, the parent's mirrors invalidated first), peer
     * mappings shared. The child has no notifiers.
     */
    public ProcessMemory fork() {
        mmap.writeLock().lock();
        try {
            checkOpen();
            ProcessMemory child = new ProcessMemory(frames);
            child.nextVa = nextVa;
            for (Vma v : vmas.values()) {
                if (!v.peer() && v.writable) {
                    subscriptions.invalidateStart(new MmuNotifierRange(v.start, v.end, MmuNotifierEvent.PROTECTION_PAGE, true));
                    invalidations.incrementAndGet();
                }
                long[] copy = new long[v.pte.length];
                synchronized (ptl) {
                    for (int i = 0; i < v.pte.length; i++) {
                        long p = v.pte[i];
                        if ((p & PRESENT) != 0 && !v.peer()) {
                            p = (p & ~WRITE) | COW;
                            v.pte[i] = p;
                            if (i % v.unitPages() == 0) {
                                frames.sharers.merge(p & FRAME_MASK, 2, (a, b) -> a + 1);
                            }
                        }
                        copy[i] = p;
                    }
                }
                child.vmas.put(v.start, new Vma(v.start, v.end, v.writable, v.huge, v.peerBase, copy));
                child.residentPages.addAndGet(v.peer() ? 0 : present(copy));
                if (!v.peer() && v.writable) {
                    subscriptions.invalidateEnd();
                }
            }
            return child;
        } finally {
            mmap.writeLock().unlock();
        }
    }

    private static long present(long[] ptes) {
        long n = 0;
        for (long p : ptes) {
            n += p & PRESENT;
        }
        return n;
    }

    @FunctionalInterface
    private interface VmaChange {
        void apply(Vma vma);
    }

    /**
     * The shape of every invalidating event: under the mmap write lock, split VMAs at the
     * range's ends, notify, change each VMA inside, end the invalidation, then free frames.
     */
    private boolean change(long va, long length, MmuNotifierEvent event, boolean blockable, VmaChange op) {
        if (length <= 0 || (va & (PAGE_SIZE - 1)) != 0 || (length & (PAGE_SIZE - 1)) != 0 || va + length < va) {
            throw new IllegalArgumentException(String.format("%s: range 0x%x+0x%x (expected: page aligned, non-empty)", event, va, length));
        }
        long end = va + length;
        mmap.writeLock().lock();
        try {
            checkOpen();
            List<Long> toFree = new ArrayList<>();
            pendingFree = toFree;
            // nothing changes before every notifier agreed (a non-blockable range may be refused)
            if (!subscriptions.invalidateStart(new MmuNotifierRange(va, end, event, blockable))) {
                pendingFree = null;
                return false;
            }
            invalidations.incrementAndGet();
            try {
                split(va);
                split(end);
                for (Vma v : new ArrayList<>(vmas.subMap(va, true, end, false).values())) {
                    op.apply(v);
                }
            } finally {
                subscriptions.invalidateEnd();
            }
            for (long f : toFree) {
                release(f);
            }
            pendingFree = null;
            return true;
        } finally {
            mmap.writeLock().unlock();
        }
    }

    private List<Long> pendingFree;

    /** Clears entries {@code [from, to)} of {@code vma}, collecting frames to free after the invalidation ends. */
    private void clearPtes(Vma vma, int from, int to) {
        synchronized (ptl) {
            for (int i = from; i < to; i++) {
                long p = vma.pte[i];
                if ((p & PRESENT) != 0) {
                    if (!vma.peer()) {
                        residentPages.decrementAndGet();
                        if (i % vma.unitPages() == 0) {
                            pendingFree.add(p & FRAME_MASK);
                        }
                    }
                    vma.pte[i] = 0;
                }
            }
        }
    }

    /** Frees a frame, or drops one sharer of a copy-on-write frame. */
    private void release(long frame) {
        boolean[] last = {true};
        frames.sharers.computeIfPresent(frame, (k, v) -> {
            last[0] = false;
            return v == 2 ? null : v - 1;
        });
        if (last[0]) {
            frames.dirty.clear(frame);
            frames.pages.freePages(frame);
        }
    }

    /** Splits the VMA containing {@code va} strictly inside into two at {@code va}. */
    private void split(long va) {
        Vma v = vmaAt(va);
        if (v == null || v.start == va) {
            return;
        }
        if (v.huge && (va & (HUGE_PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException(String.format("0x%x splits a 2 MiB page of the huge mapping at 0x%x (expected: 2 MiB aligned)", va, v.start));
        }
        int at = v.index(va);
        long[] lo = java.util.Arrays.copyOfRange(v.pte, 0, at);
        long[] hi = java.util.Arrays.copyOfRange(v.pte, at, v.pte.length);
        vmas.put(v.start, new Vma(v.start, va, v.writable, v.huge, v.peerBase, lo));
        vmas.put(va, new Vma(va, v.end, v.writable, v.huge, v.peer() ? v.peerBase + (long) at * PAGE_SIZE : -1, hi));
    }

    /** Registers an interval notifier over {@code [start, start + length)} ({@code mmu_interval_notifier_insert}). */
    public MmuIntervalNotifier notifierInsert(long start, long length, MmuIntervalNotifier.Ops ops) {
        if (length <= 0 || start + length < start) {
            throw new IllegalArgumentException(String.format("notifier range 0x%x+0x%x overflows or is empty", start, length));
        }
        return subscriptions.insert(this, start, start + length, ops);
    }

    Subscriptions subscriptions() {
        return subscriptions;
    }

    // ------------------------------------------------------------------ faults

    /** The mmap lock's read side: hold it around {@link Hmm#rangeFault}. */
    public Lock mmapReadLock() {
        return mmap.readLock();
    }

    boolean holdsMmapLock() {
        return mmap.getReadHoldCount() > 0 || mmap.isWriteLockedByCurrentThread();
    }

    /** The VMA containing {@code va}, or null; caller holds the mmap lock. */
    Vma vmaAt(long va) {
        Map.Entry<Long, Vma> e = vmas.floorEntry(va);
        return e != null && va < e.getValue().end ? e.getValue() : null;
    }

    /** The entry for {@code va}; caller holds the mmap lock. */
    long pte(Vma vma, long va) {
        synchronized (ptl) {
            return vma.pte[vma.index(va)];
        }
    }

    /**
     * Resolves a fault on {@code va} ({@code handle_mm_fault}): populates the page, or makes it
     * writable, breaking copy-on-write. Caller holds the mmap lock and checked permissions.
     */
    void fault(Vma vma, long va, boolean write) {
        int unit = vma.unitPages();
        int head = vma.index(va) & ~(unit - 1);
        long oldFrame;
        synchronized (ptl) {
            long p = vma.pte[head];
            if ((p & PRESENT) == 0) {
                if (vma.peer()) {
                    for (int i = 0; i < unit; i++) {
                        vma.pte[head + i] = (vma.peerBase + (long) (head + i) * PAGE_SIZE) | PRESENT | WRITE;
                    }
                    return;
                }
                long f = frames.alloc(vma.huge ? HUGE_ORDER : 0);
                long w = vma.writable ? WRITE : 0;
                for (int i = 0; i < unit; i++) {
                    vma.pte[head + i] = (f + i * PAGE_SIZE) | PRESENT | w;
                }
                residentPages.addAndGet(unit);
                cpuFaults.incrementAndGet();
                return;
            }
            if (!write || (p & WRITE) != 0) {
                return;
            }
            oldFrame = p & FRAME_MASK;
            if ((p & COW) == 0 || !frames.sharers.containsKey(oldFrame)) {
                // write-protected (page_mkclean) or the last sharer: reuse the frame (wp_page_reuse)
                for (int i = 0; i < unit; i++) {
                    vma.pte[head + i] = (vma.pte[head + i] | WRITE) & ~COW;
                }
                cpuFaults.incrementAndGet();
                return;
            }
        }
        // wp_page_copy: a new frame, announced as CLEAR, outside the page-table lock
        long start = vma.start + (long) head * PAGE_SIZE;
        subscriptions.invalidateStart(new MmuNotifierRange(start, start + unit * PAGE_SIZE, MmuNotifierEvent.CLEAR, true));
        invalidations.incrementAndGet();
        try {
            long f = frames.pages.allocPages(vma.huge ? HUGE_ORDER : 0);
            boolean replaced = false;
            synchronized (ptl) {
                long p = vma.pte[head];
                if ((p & PRESENT) != 0 && (p & WRITE) == 0 && (p & FRAME_MASK) == oldFrame) {
                    frames.ram.copy(oldFrame, f, unit * PAGE_SIZE);
                    for (int i = 0; i < unit; i++) {
                        vma.pte[head + i] = (f + i * PAGE_SIZE) | PRESENT | WRITE;
                    }
                    replaced = true;
                }
            }
            if (replaced) {
                release(oldFrame);
                cpuFaults.incrementAndGet();
            } else {
                frames.pages.freePages(f); // another thread resolved the same fault first
            }
        } finally {
            subscriptions.invalidateEnd();
        }
    }

    // ------------------------------------------------------------------ CPU access

    /** CPU store of {@code len} bytes from {@code src} at {@code va}, faulting pages in. */
    public void write(long va, MemorySegment src, long srcOffset, long len) {
        access(va, src, srcOffset, len, true);
    }

    /** CPU load of {@code len} bytes at {@code va} into {@code dst}, faulting pages in. */
    public void read(long va, MemorySegment dst, long dstOffset, long len) {
        access(va, dst, dstOffset, len, false);
    }

    /** CPU store of {@code data} at {@code va}. */
    public void write(long va, byte[] data) {
        write(va, MemorySegment.ofArray(data), 0, data.length);
    }

    /** CPU load of {@code len} bytes at {@code va}. */
    public byte[] read(long va, int len) {
        byte[] b = new byte[len];
        read(va, MemorySegment.ofArray(b), 0, len);
        return b;
    }

    private void access(long va, MemorySegment seg, long off, long len, boolean write) {
        long done = 0;
        while (done < len) {
            long at = va + done;
            long n = Math.min(len - done, PAGE_SIZE - (at & (PAGE_SIZE - 1)));
            mmap.readLock().lock();
            try {
                checkOpen();
                Vma vma = vmaAt(at);
                if (vma == null) {
                    throw new SegmentationFaultException(at, "no mapping");
                }
                if (write && !vma.writable) {
                    throw new SegmentationFaultException(at, "write to a read-only mapping");
                }
                long p = pte(vma, at);
                if ((p & PRESENT) == 0 || (write && (p & WRITE) == 0)) {
                    fault(vma, at, write);
                    p = pte(vma, at);
                }
                long phys = (p & FRAME_MASK) + (at & (PAGE_SIZE - 1));
                if (write) {
                    frames.ram.write(phys, seg, off + done, n);
                    frames.dirty.set(p & FRAME_MASK);
                } else {
                    frames.ram.read(phys, seg, off + done, n);
                }
            } finally {
                mmap.readLock().unlock();
            }
            done += n;
        }
    }

    // ------------------------------------------------------------------ inspection

    /** The physical address backing {@code va} now, or -1 when no page is present there. */
    public long physAt(long va) {
        mmap.readLock().lock();
        try {
            Vma vma = vmaAt(va);
            if (vma == null) {
                return -1;
            }
            long p = pte(vma, va);
            return (p & PRESENT) == 0 ? -1 : (p & FRAME_MASK) + (va & (PAGE_SIZE - 1));
        } finally {
            mmap.readLock().unlock();
        }
    }

    /**
     * Marks the frame at physical {@code phys} dirty ({@code set_page_dirty}), as a driver does
     * for pages a device wrote before it drops them. Takes no mm lock.
     */
    public void setPageDirty(long phys) {
        frames.dirty.set(phys & FRAME_MASK);
    }

    /** Whether the frame backing {@code va} is dirty (written since it was last cleaned). */
    public boolean isDirty(long va) {
        long phys = physAt(va);
        return phys >= 0 && frames.dirty.get(phys & FRAME_MASK);
    }

    /** Anonymous pages present (peer pages not counted). */
    public long residentPages() {
        return residentPages.get();
    }

    /** Faults resolved for the CPU or for {@link Hmm#rangeFault} (populate, write upgrade, copy-on-write). */
    public long faults() {
        return cpuFaults.get();
    }

    /** Invalidating events raised so far. */
    public long invalidations() {
        return invalidations.get();
    }

    /** Interval notifiers registered. */
    public int notifierCount() {
        return subscriptions.count();
    }

    /** Unmaps everything and frees the frames; later calls fail with {@link IllegalStateException}. Idempotent. */
    @Override
    public void close() {
        mmap.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            for (Vma v : new ArrayList<>(vmas.values())) {
                List<Long> toFree = new ArrayList<>();
                pendingFree = toFree;
                subscriptions.invalidateStart(new MmuNotifierRange(v.start, v.end, MmuNotifierEvent.UNMAP, true));
                clearPtes(v, 0, v.pte.length);
                subscriptions.invalidateEnd();
                toFree.forEach(this::release);
            }
            pendingFree = null;
            vmas.clear();
            closed = true;
        } finally {
            mmap.writeLock().unlock();
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the process address space is closed");
        }
    }

    private static long roundUp(long v, long a) {
        return (v + a - 1) & -a;
    }
}
