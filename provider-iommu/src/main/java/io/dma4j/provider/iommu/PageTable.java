package io.dma4j.provider.iommu;

import io.dma4j.platform.fault.FaultInjector;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A multi-level IOMMU page table of one {@link PageTableFormat}. A leaf entry holds the
 * physical address of its page or block and the device's permissions; mapping uses the
 * largest page size that the remaining size and the alignment of both addresses allow
 * ({@code iommu_pgsize}). Table pages are created on demand, installed with
 * compare-and-set so that concurrent mappers of disjoint ranges are safe, and counted
 * (allocated and freed).
 *
 * <p>Per format, as the kernel's two implementations do:
 * <ul>
 * <li>map refuses no permission ({@code -EINVAL}) and addresses at or above the input address
 *     size ({@code -ERANGE}) in both; a block or large page mapped where an empty table remains
 *     frees the table and becomes one leaf in both (io-pgtable-arm {@code __arm_lpae_map},
 *     generic_pt {@code __map_range}); over a table that still holds live pages it is refused
 *     ("already mapped", as generic_pt's {@code -EADDRINUSE}; io-pgtable-arm would free the
 *     table and its live pages: a difference kept on purpose);</li>
 * <li>unmap on the x86-64 formats (generic_pt {@code __unmap_range}, v6.19): an unmap that
 *     starts at a large leaf removes the whole leaf and counts its size, one that starts inside
 *     it stops; a table the range covers whole is freed once its entries are cleared; the
 *     first hole stops the unmap;</li>
 * <li>unmap on the Arm formats (io-pgtable-arm {@code __arm_lpae_unmap}, 6.13+), in
 *     {@code iommu_pgsize} steps: a step smaller than the block it meets is refused (no
 *     partial unmap); a step of a table's whole size frees the table with whatever it holds
 *     and counts the step; a hole stops the unmap.</li>
 * </ul>
 *
 * <p>The tables are Java arrays, not simulated DRAM: the device-side walk reads them
 * directly. Thread safety: concurrent map/unmap of disjoint ranges and concurrent walks
 * are safe; overlapping map/unmap is the caller's error, as in the kernel.
 */
public final class PageTable {
    /** Leaf entry bit: present. */
    static final long VALID = 1;
    /** Leaf entry bit: the device may read. */
    public static final long READ = 2;
    /** Leaf entry bit: the device may write. */
    public static final long WRITE = 4;
    private static final long FLAGS = 0xFFF;
    private static final VarHandle PTE = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle NEXT = MethodHandles.arrayElementVarHandle(Node[].class);

    private static final class Node {
        final long[] pte;
        final Node[] next;

        Node(int entries) {
            pte = new long[entries];
            next = new Node[entries];
        }
    }

    /** A table page that could not be had (thrown by {@link #mapOne}, turned into {@code -ENOMEM} by {@link #map}). */
    private static final class NoTableMemory extends RuntimeException {
        NoTableMemory() {
            super(null, null, false, false);
        }
    }

    private static final NoTableMemory NO_TABLE_MEMORY = new NoTableMemory();

    private final PageTableFormat format;
    private final Node root;
    private volatile FaultInjector faults = new FaultInjector();
    private final AtomicLong tablePages = new AtomicLong(1);
    private final AtomicLong tablePagesFreed = new AtomicLong();

    /** An empty table of the given format. */
    public PageTable(PageTableFormat format) {
        this.format = format;
        this.root = new Node(format.entriesAt(0));
    }

    public PageTableFormat format() {
        return format;
    }

    /** Fails table-page allocations where the machine's injector says ({@code pgtable_alloc}). */
    public void setFaultInjector(FaultInjector faults) {
        this.faults = java.util.Objects.requireNonNull(faults, "faults");
    }

    /** Table pages in use now (one per table node, the root included). */
    public long tablePages() {
        return tablePages.get() - tablePagesFreed.get();
    }

    /** Table pages freed so far (emptied tables replaced by a block, tables an unmap covered). */
    public long tablePagesFreed() {
        return tablePagesFreed.get();
    }

    /** Leaf entries present now, of any size (a walk of the whole table: for tests and figures). */
    public long leaves() {
        return leaves(root);
    }

    private static long leaves(Node n) {
        long c = 0;
        for (int i = 0; i < n.pte.length; i++) {
            if ((long) PTE.getAcquire(n.pte, i) != 0) {
                c++;
            }
            Node child = (Node) NEXT.getAcquire(n.next, i);
            if (child != null) {
                c += leaves(child);
            }
        }
        return c;
    }

    /** Whether a table and the tables below it hold no leaf. */
    private static boolean empty(Node n) {
        for (int i = 0; i < n.pte.length; i++) {
            if ((long) PTE.getAcquire(n.pte, i) != 0) {
                return false;
            }
            Node child = (Node) NEXT.getAcquire(n.next, i);
            if (child != null && !empty(child)) {
                return false;
            }
        }
        return true;
    }

    private static long nodes(Node n) {
        long c = 1;
        for (int i = 0; i < n.next.length; i++) {
            Node child = (Node) NEXT.getAcquire(n.next, i);
            if (child != null) {
                c += nodes(child);
            }
        }
        return c;
    }

    /** Frees the table in {@code parent.next[idx]} and everything below it. */
    private void freeTable(Node parent, int idx, Node table) {
        if (NEXT.compareAndSet(parent.next, idx, table, (Node) null)) {
            tablePagesFreed.addAndGet(nodes(table));
        }
    }

    /**
     * Maps {@code [iova, iova+size)} to {@code [phys, phys+size)} with {@code prot}
     * ({@link #READ}, {@link #WRITE}).
     *
     * @throws IllegalArgumentException if the addresses or size are not granule-aligned, no
     *                                  permission is given ({@code -EINVAL}), or the range reaches
     *                                  the input address size ({@code -ERANGE})
     * @throws IllegalStateException    if part of the range is already mapped, or a table page
     *                                  could not be allocated ({@code -ENOMEM}); nothing stays mapped
     */
    public void map(long iova, long phys, long size, long prot) {
        long g = format.granule() - 1;
        if (((iova | phys | size) & g) != 0 || size <= 0) {
            throw new IllegalArgumentException(String.format("map 0x%x -> 0x%x size 0x%x: not aligned to the %d-byte granule", iova, phys, size, g + 1));
        }
        if ((prot & (READ | WRITE)) == 0) {
            throw new IllegalArgumentException(String.format("map 0x%x size 0x%x: no permission (-EINVAL)", iova, size));
        }
        if (Long.compareUnsigned(iova + size - 1, format.apertureEnd()) > 0 || Long.compareUnsigned(iova + size - 1, iova) < 0) {
            throw new IllegalArgumentException(String.format("map 0x%x size 0x%x: beyond the %d-bit input address size (-ERANGE)", iova, size, format.iasBits));
        }
        long done = 0;
        while (done < size) {
            long a = iova + done;
            long p = phys + done;
            long left = size - done;
            int shift = pickShift(a | p, left);
            boolean mapped;
            try {
                mapped = mapOne(a, p, shift, prot);
            } catch (NoTableMemory e) {
                if (done > 0) {
                    unmap(iova, done);
                }
                throw new IllegalStateException(String.format("no memory for a page-table page at IOVA 0x%x (-ENOMEM): injected failure (pgtable_alloc)", a));
            }
            if (!mapped) {
                if (done > 0) {
                    unmap(iova, done);
                }
                throw new IllegalStateException(String.format("IOVA 0x%x is already mapped", a));
            }
            done += 1L << shift;
        }
    }

    private int pickShift(long addrs, long left) {
        for (int level = 0; level < format.levels; level++) {
            int s = format.shiftOf(level);
            if (format.leafAllowed(s) && (1L << s) <= left && (addrs & ((1L << s) - 1)) == 0) {
                return s;
            }
        }
        return format.granuleShift;
    }

    /**
     * Writes one leaf of 2^shift bytes; false when a leaf, or a table with live pages, is in
     * the way. An empty table in the way is freed and the leaf takes its place.
     */
    private boolean mapOne(long iova, long phys, int shift, long prot) {
        Node n = root;
        for (int level = 0; ; level++) {
            int s = format.shiftOf(level);
            int idx = index(iova, level, s);
            if (s == shift) {
                if ((long) PTE.getAcquire(n.pte, idx) != 0) {
                    return false;
                }
                Node old = (Node) NEXT.getAcquire(n.next, idx);
                if (old != null) {
                    if (!empty(old)) {
                        return false; // live pages below: refused (generic_pt -EADDRINUSE)
                    }
                    freeTable(n, idx, old); // a leftover empty table becomes one block
                }
                PTE.setRelease(n.pte, idx, phys | prot | VALID);
                return true;
            }
            if ((long) PTE.getAcquire(n.pte, idx) != 0) {
                return false; // a larger leaf covers this address
            }
            Node child = (Node) NEXT.getAcquire(n.next, idx);
            if (child == null) {
                if (faults.armed() && faults.shouldFail(FaultInjector.Point.PGTABLE_ALLOC, null)) {
                    throw NO_TABLE_MEMORY;
                }
                Node fresh = new Node(format.entriesAt(level + 1));
                child = (Node) NEXT.compareAndExchange(n.next, idx, (Node) null, fresh);
                if (child == null) {
                    child = fresh;
                    tablePages.incrementAndGet();
                }
            }
            n = child;
        }
    }

    private int index(long iova, int level, int shift) {
        return (int) ((iova >>> shift) & (format.entriesAt(level) - 1));
    }

    /**
     * Unmaps {@code [iova, iova+size)} by the format's rules (see the class comment).
     *
     * @return the bytes unmapped from {@code iova} on; on the x86-64 formats this may exceed
     *         {@code size} when the range starts a larger leaf, which goes whole
     */
    public long unmap(long iova, long size) {
        return format.genericPt ? unmapGeneric(iova, size) : unmapArm(iova, size);
    }

    /**
     * Clears every leaf that overlaps {@code [iova, iova+size)}, skipping holes, whatever the
     * format: not a kernel operation, but the model's guarantee that nothing stays mapped in
     * IOVA space whose reservation is freed (used when a destroy's length left links behind).
     *
     * @return the bytes of the leaves cleared
     */
    public long sweep(long iova, long size) {
        return sweep(root, 0, iova, iova + size);
    }

    private long sweep(Node n, int level, long from, long to) {
        int s = format.shiftOf(level);
        long block = 1L << s;
        long cleared = 0;
        for (long a = from & ~(block - 1); Long.compareUnsigned(a, to) < 0 && a >= (from & ~(block - 1)); a += block) {
            int idx = index(a, level, s);
            if ((long) PTE.getAcquire(n.pte, idx) != 0) {
                PTE.setRelease(n.pte, idx, 0L);
                cleared += block;
                continue;
            }
            Node child = level + 1 < format.levels ? (Node) NEXT.getAcquire(n.next, idx) : null;
            if (child != null) {
                cleared += sweep(child, level + 1, Math.max(from, a), Math.min(to, a + block));
            }
            if (idx == n.pte.length - 1) {
                break; // the end of this table
            }
        }
        return cleared;
    }

    /** generic_pt's unmap: down without recursion while the range stays inside one table entry, then the walk. */
    private long unmapGeneric(long iova, long size) {
        Node n = root;
        int level = 0;
        while (level + 1 < format.levels) {
            int s = format.shiftOf(level);
            long block = 1L << s;
            int idx = index(iova, level, s);
            if ((long) PTE.getAcquire(n.pte, idx) != 0) {
                break; // a leaf at this level: the walk decides
            }
            Node child = (Node) NEXT.getAcquire(n.next, idx);
            if (child == null) {
                return 0; // nothing mapped
            }
            long off = iova & (block - 1);
            if (off + size > block || (off == 0 && size == block)) {
                break; // the range leaves this entry, or covers its table whole: the walk frees what it must
            }
            n = child;
            level++;
        }
        return unmapGeneric(n, level, iova, size);
    }

    /** generic_pt's walk over {@code [iova, iova+size)} below {@code n}: the bytes cleared, stopping at a hole or inside a leaf. */
    private long unmapGeneric(Node n, int level, long iova, long size) {
        int s = format.shiftOf(level);
        long block = 1L << s;
        long done = 0;
        int idx = index(iova, level, s);
        while (done < size && idx < n.pte.length) {
            long a = iova + done;
            long pte = (long) PTE.getAcquire(n.pte, idx);
            if (pte != 0) {
                if ((a & (block - 1)) != 0) {
                    return done; // starts inside a large leaf: -EINVAL
                }
                PTE.setRelease(n.pte, idx, 0L);
                done += block; // the whole leaf, even past size
                idx++;
                continue;
            }
            Node child = level + 1 < format.levels ? (Node) NEXT.getAcquire(n.next, idx) : null;
            if (child == null) {
                return done; // a hole: -EFAULT ends the walk
            }
            long within = Math.min(size - done, block - (a & (block - 1)));
            long got = unmapGeneric(child, level + 1, a, within);
            boolean covered = (a & (block - 1)) == 0 && within == block;
            if (got < within) {
                return done + got; // stopped below: the table stays
            }
            if (covered) {
                freeTable(n, idx, child); // the range covered the whole table, now cleared
            }
            done += got;
            idx++;
        }
        return done;
    }

    /** io-pgtable-arm's unmap in iommu_pgsize steps. */
    private long unmapArm(long iova, long size) {
        long done = 0;
        while (done < size) {
            long a = iova + done;
            long pg = pgsize(a, size - done);
            Node n = root;
            int level = 0;
            while (true) {
                int s = format.shiftOf(level);
                long block = 1L << s;
                int idx = index(a, level, s);
                long pte = (long) PTE.getAcquire(n.pte, idx);
                if (pte != 0) {
                    if (block != pg) {
                        return done; // unmap of a partial large IOPTE is not allowed (6.13)
                    }
                    // clear this leaf and the following ones of this table that the range covers whole
                    int entries = n.pte.length;
                    do {
                        PTE.setRelease(n.pte, idx, 0L);
                        done += block;
                        idx++;
                    } while (done + block <= size && idx < entries && (long) PTE.getAcquire(n.pte, idx) != 0
                            && pgsize(iova + done, size - done) == block);
                    break;
                }
                Node child = level + 1 < format.levels ? (Node) NEXT.getAcquire(n.next, idx) : null;
                if (child == null) {
                    return done; // nothing mapped here
                }
                if (block == pg) {
                    freeTable(n, idx, child); // a step of the table's size takes the table and all it holds
                    done += block;
                    break;
                }
                n = child;
                level++;
            }
        }
        return done;
    }

    /** {@code iommu_pgsize}: the largest leaf size that fits {@code left} and the alignment of {@code iova}. */
    private long pgsize(long iova, long left) {
        return 1L << pickShift(iova, left);
    }

    /**
     * Walks the table for one address: the physical address of the 4 KiB page holding
     * {@code iova}, with the permission bits in the low 12 bits ({@code VALID | READ | WRITE}),
     * or 0 when not mapped.
     */
    public long lookup(long iova) {
        Node n = root;
        for (int level = 0; level < format.levels; level++) {
            int s = format.shiftOf(level);
            int idx = index(iova, level, s);
            long pte = (long) PTE.getAcquire(n.pte, idx);
            if (pte != 0) {
                long phys = (pte & ~FLAGS & ~((1L << s) - 1)) + (iova & ((1L << s) - 1));
                return (phys & ~FLAGS) | (pte & (READ | WRITE | VALID));
            }
            n = (Node) NEXT.getAcquire(n.next, idx);
            if (n == null) {
                return 0;
            }
        }
        return 0;
    }

    /** The physical address {@code iova} maps to, or -1 ({@code iommu_iova_to_phys}). */
    public long iovaToPhys(long iova) {
        long v = lookup(iova);
        return v == 0 ? -1 : (v & ~FLAGS) | (iova & FLAGS);
    }
}
