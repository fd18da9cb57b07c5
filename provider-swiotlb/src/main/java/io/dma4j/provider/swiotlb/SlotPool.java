package io.dma4j.provider.swiotlb;

/**
 * One swiotlb pool ({@code struct io_tlb_pool}): 2 KiB slots in segments of 128, split
 * into areas that each have their own lock and next-fit cursor. Per slot it keeps the
 * original address it stands for, the bytes from the slot to the end of the mapping, the
 * number of free contiguous slots from it to the end of its segment (the kernel's
 * {@code list}), and, on the first data slot of a mapping, the count of leading padding
 * slots.
 *
 * <p>The pool's memory is a set of page-allocator blocks (each a whole number of
 * segments, naturally aligned), so no mapping ever spans two blocks; the kernel's pool
 * is one contiguous range, which makes no difference to a mapping.
 *
 * <p>Thread safety: searches and releases lock one area; per-slot arrays are only
 * touched under the lock of the area that owns the slot, or by the owner of a live
 * mapping (reads of its own slots).
 */
final class SlotPool {
    static final int SLOT_SHIFT = 11;
    static final long SLOT_SIZE = 1L << SLOT_SHIFT;
    static final int SEGMENT_SLOTS = 128;
    static final long NO_ORIG = -1L;

    /** One area: a lock, a next-fit cursor and a used count. */
    static final class Area {
        int cursor;
        int used;
    }

    final int id;
    private final long[] blockBase;
    private final int blockShift;
    private final int nslabs;
    private final int areaSlots;
    private final Area[] areas;
    final long[] orig;
    final int[] remaining;
    final int[] run;
    final int[] free;
    final short[] pad;

    /**
     * @param id         pool number (0 for the default pool)
     * @param blockBase  physical addresses of the blocks, each {@code 1 << blockShift} slots
     * @param blockShift log2 of the slots per block (at least 7: whole segments)
     * @param nareas     areas; a power of two, each area holding whole segments
     */
    SlotPool(int id, long[] blockBase, int blockShift, int nareas) {
        this.id = id;
        this.blockBase = blockBase.clone();
        java.util.Arrays.sort(this.blockBase);
        this.blockShift = blockShift;
        this.nslabs = blockBase.length << blockShift;
        this.areaSlots = nslabs / nareas;
        this.areas = new Area[nareas];
        for (int i = 0; i < nareas; i++) {
            areas[i] = new Area();
        }
        orig = new long[nslabs];
        remaining = new int[nslabs];
        run = new int[nslabs];
        free = new int[nslabs];
        pad = new short[nslabs];
        for (int i = 0; i < nslabs; i++) {
            orig[i] = NO_ORIG;
            free[i] = SEGMENT_SLOTS - (i % SEGMENT_SLOTS);
            pad[i] = -1;
        }
    }

    int slots() {
        return nslabs;
    }

    int areas() {
        return areas.length;
    }

    long blockBytes() {
        return (long) (1 << blockShift) << SLOT_SHIFT;
    }

    long[] blocks() {
        return blockBase.clone();
    }

    /** Physical address of slot {@code i}. */
    long slotAddress(int i) {
        return blockBase[i >>> blockShift] + ((long) (i & ((1 << blockShift) - 1)) << SLOT_SHIFT);
    }

    /** Slot index of a physical address inside block {@code block}. */
    int slotOf(int block, long phys) {
        return (block << blockShift) + (int) ((phys - blockBase[block]) >>> SLOT_SHIFT);
    }

    /** Slots in use, summed over the areas (each read under its lock). */
    int used() {
        int u = 0;
        for (Area a : areas) {
            synchronized (a) {
                u += a.used;
            }
        }
        return u;
    }

    /**
     * Finds and takes a run of {@code nslots} slots in one area, the kernel's
     * {@code swiotlb_search_pool_area}: the run starts at a slot whose address satisfies
     * {@code alignMask}, reproduces the original's bits under {@code iotlbAlignMask}, does
     * not cross the device's segment boundary (in bus addresses) and has enough free slots
     * before its segment ends. The search goes next-fit from the area's cursor, stepping by
     * the alignment.
     *
     * @return the first slot of the run, or -1
     */
    int take(int area, int nslots, long origAddr, long alignMask, long iotlbAlignMask, long boundaryMask, long busOffset) {
        Area a = areas[area];
        int stride = (int) ((Math.max(alignMask, iotlbAlignMask) >>> SLOT_SHIFT) + 1);
        int base = area * areaSlots;
        synchronized (a) {
            if (nslots > areaSlots - a.used) {
                return -1;
            }
            int index = a.cursor;
            for (int checked = 0; checked < areaSlots; ) {
                int slot = base + index;
                long addr = slotAddress(slot);
                if ((addr & alignMask) != 0 || (addr & iotlbAlignMask) != (origAddr & iotlbAlignMask)) {
                    index = wrap(index + 1);
                    checked++;
                    continue;
                }
                if (free[slot] >= nslots && !crossesBoundary(addr + busOffset, nslots, boundaryMask)) {
                    for (int i = slot; i < slot + nslots; i++) {
                        free[i] = 0;
                    }
                    // free runs just below now end where this run starts
                    int count = 0;
                    for (int i = slot - 1; i >= 0 && (i % SEGMENT_SLOTS) != SEGMENT_SLOTS - 1 && free[i] != 0; i--) {
                        free[i] = ++count;
                    }
                    a.cursor = wrap(index + nslots);
                    a.used += nslots;
                    run[slot] = nslots;
                    return slot;
                }
                index = wrap(index + stride);
                checked += stride;
            }
            return -1;
        }
    }

    /** Returns the run starting at {@code start} to the free lists, merging with free neighbours in its segment. */
    void release(int start) {
        int nslots = run[start];
        Area a = areas[start / areaSlots];
        synchronized (a) {
            int end = start + nslots;
            int count = end % SEGMENT_SLOTS != 0 ? free[end] : 0;
            for (int i = end - 1; i >= start; i--) {
                free[i] = ++count;
                orig[i] = NO_ORIG;
                remaining[i] = 0;
                pad[i] = -1;
                run[i] = 0;
            }
            for (int i = start - 1; i >= 0 && (i % SEGMENT_SLOTS) != SEGMENT_SLOTS - 1 && free[i] != 0; i--) {
                free[i] = ++count;
            }
            a.used -= nslots;
        }
    }

    private int wrap(int index) {
        return index >= areaSlots ? 0 : index;
    }

    private static boolean crossesBoundary(long bus, int nslots, long boundaryMask) {
        return boundaryMask != -1L && (bus & ~boundaryMask) != ((bus + ((long) nslots << SLOT_SHIFT) - 1) & ~boundaryMask);
    }
}
