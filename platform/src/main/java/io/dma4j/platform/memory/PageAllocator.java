package io.dma4j.platform.memory;

import io.dma4j.platform.fault.FaultInjector;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A buddy allocator of 4 KiB page frames over the machine's DRAM, orders 0..{@link #MAX_ORDER}
 * (4 KiB .. 4 MiB), in the manner of the kernel's page allocator: a block of order n is
 * 2^n pages, naturally aligned in physical address; a freed block merges with its free
 * buddy. Lowest addresses are handed out first, so results are repeatable.
 *
 * <p>DRAM is carved lazily: maximum-order blocks are taken from a high-water mark only
 * when the free lists run dry, so a terabyte machine costs nothing until pages are used.
 * Pages are zeroed on allocation, as with {@code __GFP_ZERO}.
 *
 * <p>Thread safety: all methods are safe to call concurrently (one lock).
 */
public final class PageAllocator {
    private final FaultInjector faults;
    /** Page size in bytes. */
    public static final long PAGE_SIZE = 4096;
    /** log2 of the page size. */
    public static final int PAGE_SHIFT = 12;
    /** Highest order: blocks of 1024 pages (4 MiB), like the kernel's default MAX_PAGE_ORDER. */
    public static final int MAX_ORDER = 10;

    private final List<Zone> zones = new ArrayList<>();
    private final Map<Long, Integer> allocated = new HashMap<>();
    private long allocatedPages;

    /** One DRAM region's free lists and fresh-block mark. */
    private static final class Zone {
        final Region region;
        final long end;
        final long alignedEnd;
        long fresh;
        @SuppressWarnings({"unchecked", "rawtypes"})
        final TreeSet<Long>[] free = new TreeSet[MAX_ORDER + 1];

        Zone(Region region) {
            this.region = region;
            this.end = region.end();
            for (int i = 0; i <= MAX_ORDER; i++) {
                free[i] = new TreeSet<>();
            }
            long maxBlock = PAGE_SIZE << MAX_ORDER;
            long start = (region.base() + PAGE_SIZE - 1) & -PAGE_SIZE;
            long alignedStart = Math.min((start + maxBlock - 1) & -maxBlock, end & -PAGE_SIZE);
            this.alignedEnd = Math.max(alignedStart, end & -maxBlock);
            this.fresh = alignedStart;
            addRange(start, alignedStart);
            addRange(alignedEnd, end & -PAGE_SIZE);
        }

        /** Splits [from, to) into maximal naturally aligned blocks on the free lists. */
        void addRange(long from, long to) {
            while (from < to) {
                int order = Math.min(MAX_ORDER, Long.numberOfTrailingZeros(from) - PAGE_SHIFT);
                while (order > 0 && from + (PAGE_SIZE << order) > to) {
                    order--;
                }
                free[order].add(from);
                from += PAGE_SIZE << order;
            }
        }
    }

    /** Creates an allocator over the given DRAM regions. */
    public PageAllocator(List<Region> dram) {
        this(dram, new FaultInjector());
    }

    /** Creates an allocator over the given DRAM regions that fails where {@code faults} says ({@code page_alloc}). */
    public PageAllocator(List<Region> dram, FaultInjector faults) {
        this.faults = java.util.Objects.requireNonNull(faults, "faults");
        for (Region r : dram) {
            if (r.kind() != Region.Kind.DRAM) {
                throw new IllegalArgumentException(r.name() + " is not DRAM");
            }
            zones.add(new Zone(r));
        }
    }

    /** Allocates 2^order pages anywhere in DRAM; see {@link #allocPages(int, long)}. */
    public long allocPages(int order) {
        return allocPages(order, Long.MAX_VALUE);
    }

    /**
     * Allocates 2^order zeroed, physically contiguous pages that end at or below
     * {@code limit} (an exclusive physical address; the kernel's GFP_DMA32 zone is a limit of
     * 4 GiB).
     *
     * @return the physical address of the first page
     * @throws IllegalArgumentException if order is outside 0..10
     * @throws PageAllocationException  when no free block of that order fits below the limit
     */
    public long allocPages(int order, long limit) {
        return allocPages(order, 0, limit);
    }

    /**
     * Allocates 2^order zeroed, physically contiguous pages inside {@code [from, limit)}
     * (lowest fitting block first).
     *
     * @return the physical address of the first page
     * @throws IllegalArgumentException if order is outside 0..10
     * @throws PageAllocationException  when no free block of that order fits in the range
     */
    public long allocPages(int order, long from, long limit) {
        if (order < 0 || order > MAX_ORDER) {
            throw new IllegalArgumentException("order: " + order + " (expected: 0.." + MAX_ORDER + ")");
        }
        long phys;
        if (faults.armed() && faults.shouldFail(FaultInjector.Point.PAGE_ALLOC, null)) {
            throw new PageAllocationException(String.format("no free block of order %d (%d KiB): injected failure (page_alloc)", order, (PAGE_SIZE << order) >> 10));
        }
        synchronized (this) {
            phys = take(order, from, limit);
            if (phys < 0) {
                throw new PageAllocationException(String.format("no free block of order %d (%d KiB) %sbelow 0x%x: %d pages in use",
                        order, (PAGE_SIZE << order) >> 10, from > 0 ? String.format("at or above 0x%x and ", from) : "", limit, allocatedPages));
            }
            allocated.put(phys, order);
            allocatedPages += 1L << order;
        }
        Region r = zoneOf(phys).region;
        r.memory().fill(phys - r.base(), PAGE_SIZE << order, (byte) 0);
        return phys;
    }

    /**
     * Frees a block returned by {@link #allocPages}.
     *
     * @throws IllegalArgumentException if {@code phys} is not the start of an allocated block
     *                                  (never allocated, or already freed)
     */
    public synchronized void freePages(long phys) {
        Integer order = allocated.remove(phys);
        if (order == null) {
            throw new IllegalArgumentException(String.format("freePages(0x%x): not the start of an allocated block (double free?)", phys));
        }
        allocatedPages -= 1L << order;
        Zone z = zoneOf(phys);
        int o = order;
        long block = phys;
        while (o < MAX_ORDER) {
            long buddy = block ^ (PAGE_SIZE << o);
            if (!z.free[o].remove(buddy)) {
                break;
            }
            block = Math.min(block, buddy);
            o++;
        }
        z.free[o].add(block);
    }

    /** The order of the allocated block starting at {@code phys}, or -1. */
    public synchronized int orderOf(long phys) {
        Integer order = allocated.get(phys);
        return order == null ? -1 : order;
    }

    /** Pages currently allocated. */
    public synchronized long allocatedPages() {
        return allocatedPages;
    }

    /** The smallest order whose block holds {@code bytes} (0 for a page or less). */
    public static int orderFor(long bytes) {
        if (bytes <= PAGE_SIZE) {
            return 0;
        }
        return 64 - Long.numberOfLeadingZeros((bytes - 1) >>> PAGE_SHIFT);
    }

    private long take(int order, long from, long limit) {
        long size = PAGE_SIZE << order;
        for (Zone z : zones) {
            if (z.region.base() + size > limit) {
                break;
            }
            if (z.end < from + size) {
                continue;
            }
            // carve fresh blocks up to 'from' so that blocks below it are free, not lost
            while (z.fresh < from && z.fresh < z.alignedEnd) {
                z.free[MAX_ORDER].add(z.fresh);
                z.fresh += PAGE_SIZE << MAX_ORDER;
            }
            for (int o = order; o <= MAX_ORDER; o++) {
                // the lowest block of order o that can hold an aligned run of 'size' at or above 'from'
                long blockSize = PAGE_SIZE << o;
                Long block = z.free[o].ceiling(from - blockSize + 1);
                while (block != null && block + blockSize <= from) {
                    block = z.free[o].higher(block);
                }
                if (block != null) {
                    long at = Math.max(block, (from + size - 1) & -size);
                    if (at + size <= limit && at + size <= block + blockSize) {
                        z.free[o].remove(block);
                        return splitAround(z, o, order, block, at);
                    }
                }
            }
            if (z.fresh < z.alignedEnd && Math.max(z.fresh, from) + size <= limit) {
                long block = z.fresh;
                z.fresh += PAGE_SIZE << MAX_ORDER;
                return splitAround(z, MAX_ORDER, order, block, Math.max(block, (from + size - 1) & -size));
            }
        }
        return -1;
    }

    /**
     * Splits a free block of order {@code from} (at {@code block}) down to order {@code to}
     * so that the piece at {@code at} is the one returned; every other piece goes back on
     * the free lists.
     */
    private static long splitAround(Zone z, int from, int to, long block, long at) {
        for (int o = from - 1; o >= to; o--) {
            long half = PAGE_SIZE << o;
            if (at >= block + half) {
                z.free[o].add(block);
                block += half;
            } else {
                z.free[o].add(block + half);
            }
        }
        return block;
    }

    private Zone zoneOf(long phys) {
        for (Zone z : zones) {
            if (phys >= z.region.base() && phys < z.end) {
                return z;
            }
        }
        throw new IllegalArgumentException(String.format("0x%x is not in DRAM", phys));
    }
}
