package io.dma4j.provider.iommu;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A multi-level IOMMU page table of one {@link PageTableFormat}. A leaf entry holds the
 * physical address of its page or block and the device's permissions; mapping uses the
 * largest page size that the remaining size and the alignment of both addresses allow
 * ({@code iommu_pgsize}); unmapping part of a large page is refused, as the kernel has
 * done since 6.13 (nothing is unmapped from that page on). Table pages are created on
 * demand, installed with compare-and-set so that concurrent mappers of disjoint ranges are
 * safe, never freed by leaf unmaps (as in io-pgtable-arm), and counted.
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

    private final PageTableFormat format;
    private final Node root;
    private final AtomicLong tablePages = new AtomicLong(1);

    /** An empty table of the given format. */
    public PageTable(PageTableFormat format) {
        this.format = format;
        this.root = new Node(format.entriesAt(0));
    }

    public PageTableFormat format() {
        return format;
    }

    /** Table pages allocated (one per table node, the root included). */
    public long tablePages() {
        return tablePages.get();
    }

    /**
     * Maps {@code [iova, iova+size)} to {@code [phys, phys+size)} with {@code prot}
     * ({@link #READ}, {@link #WRITE}).
     *
     * @throws IllegalArgumentException if the addresses or size are not granule-aligned
     * @throws IllegalStateException    if part of the range is already mapped (nothing stays mapped)
     */
    public void map(long iova, long phys, long size, long prot) {
        long g = format.granule() - 1;
        if (((iova | phys | size) & g) != 0 || size <= 0) {
            throw new IllegalArgumentException(String.format("map 0x%x -> 0x%x size 0x%x: not aligned to the %d-byte granule", iova, phys, size, g + 1));
        }
        long done = 0;
        while (done < size) {
            long a = iova + done;
            long p = phys + done;
            long left = size - done;
            int shift = pickShift(a | p, left);
            int got;
            while ((got = mapOne(a, p, shift, prot)) == 0) {
                shift = smallerShift(shift); // a table already sits where a block would go
            }
            if (got < 0) {
                unmap(iova, done);
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

    private int smallerShift(int shift) {
        for (int level = 0; level < format.levels; level++) {
            int s = format.shiftOf(level);
            if (s < shift && format.leafAllowed(s)) {
                return s;
            }
        }
        throw new IllegalStateException("no smaller page size than 2^" + shift);
    }

    /** Writes one leaf of 2^shift bytes: 1 when written, 0 when a table occupies the slot, -1 when a leaf does. */
    private int mapOne(long iova, long phys, int shift, long prot) {
        Node n = root;
        for (int level = 0; ; level++) {
            int s = format.shiftOf(level);
            int idx = index(iova, level, s);
            if (s == shift) {
                if ((long) PTE.getAcquire(n.pte, idx) != 0) {
                    return -1;
                }
                if (NEXT.getAcquire(n.next, idx) != null) {
                    return 0;
                }
                PTE.setRelease(n.pte, idx, phys | prot | VALID);
                return 1;
            }
            if ((long) PTE.getAcquire(n.pte, idx) != 0) {
                return -1; // a larger leaf covers this address
            }
            Node child = (Node) NEXT.getAcquire(n.next, idx);
            if (child == null) {
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
     * Unmaps {@code [iova, iova+size)}, leaf by leaf. Stops at a hole or at a leaf that the
     * range covers only in part (a large page is never split).
     *
     * @return the bytes unmapped from {@code iova} on
     */
    public long unmap(long iova, long size) {
        long done = 0;
        while (done < size) {
            long a = iova + done;
            Node n = root;
            int level = 0;
            while (true) {
                int s = format.shiftOf(level);
                int idx = index(a, level, s);
                long pte = (long) PTE.getAcquire(n.pte, idx);
                if (pte != 0) {
                    long leaf = 1L << s;
                    int entries = n.pte.length;
                    // clear this leaf and the following ones of this table that the range covers whole
                    while (true) {
                        if ((a & (leaf - 1)) != 0 || leaf > size - done) {
                            return done; // partial unmap of a large page: refused
                        }
                        PTE.setRelease(n.pte, idx, 0L);
                        done += leaf;
                        a += leaf;
                        idx++;
                        if (done >= size || idx >= entries || (long) PTE.getAcquire(n.pte, idx) == 0) {
                            break;
                        }
                    }
                    break;
                }
                Node child = level + 1 < format.levels ? (Node) NEXT.getAcquire(n.next, idx) : null;
                if (child == null) {
                    return done; // not mapped
                }
                n = child;
                level++;
            }
        }
        return done;
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
