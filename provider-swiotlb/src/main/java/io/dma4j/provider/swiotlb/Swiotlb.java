package io.dma4j.provider.swiotlb;

import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.MisuseCheck;
import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMappingException;
import io.dma4j.platform.ByteSize;
import io.dma4j.platform.Machine;
import io.dma4j.platform.fault.FaultInjector;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.memory.PageAllocationException;
import io.dma4j.platform.memory.PageAllocator;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.spi.BounceService;
import io.dma4j.spi.MetricSink;
import io.dma4j.spi.Metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Bounce buffers in the manner of {@code kernel/dma/swiotlb.c}: pools of 2 KiB slots in
 * 128-slot segments (so one mapping is at most 256 KiB), split into areas with their own
 * locks, the kernel's slot search and alignment rules, and original-address tracking per
 * slot. Copies follow the kernel's table: original to bounce at map whatever the
 * direction; bounce to original at unmap (unless {@link DmaAttrs#SKIP_CPU_SYNC}) and at
 * sync-for-CPU for FROM_DEVICE/BIDIRECTIONAL; original to bounce at sync-for-device for
 * TO_DEVICE/BIDIRECTIONAL. Sub-range syncs copy just their range.
 *
 * <p>Alignment of a mapping of {@code size} bytes at original address {@code orig}:
 * the bits of {@code orig} under the device's min align mask (and under the caller's
 * {@code allocAlignMask | 2047}) are kept as the offset into the bounce buffer, higher
 * min-align bits are matched by the slot choice, the run starts on an
 * {@code allocAlignMask} boundary, a run of a page or more with no alignment asked is
 * page-aligned, and no run crosses the device's segment boundary.
 *
 * <p>When no run fits in any area of any pool the mapping fails with a
 * {@link DmaMappingException} saying "bounce buffer full" with the pool state, unless
 * growth is on: then a new pool of the default size (halving down to 1 MiB while memory
 * is short) is added and the search runs once more (the kernel's dynamic pools, without
 * its per-request transient pools).
 *
 * <p>Thread safety: safe for concurrent use; the map and unmap paths allocate nothing.
 */
final class Swiotlb implements BounceService {
    static final long MAX_MAPPING = SlotPool.SLOT_SIZE * SlotPool.SEGMENT_SLOTS;
    static final long MIN_POOL = 1L << 20;

    /** Lookup from a physical address to its pool block; replaced whole when a pool is added. */
    private record BlockIndex(long[] starts, long blockBytesMax, SlotPool[] pools, int[] blocks) {
    }

    private final PhysicalAddressSpace space;
    private final PageAllocator pages;
    private final long poolSize;
    private final int areas;
    private final boolean growable;
    private final long limit;
    private final List<SlotPool> pools = new ArrayList<>();
    private volatile SlotPool[] poolArray = new SlotPool[0];
    private volatile BlockIndex index = new BlockIndex(new long[0], 0, new SlotPool[0], new int[0]);
    private final AtomicLong used = new AtomicLong();
    private final AtomicLong highWater = new AtomicLong();
    private final LongAdder mappings = new LongAdder();
    private final LongAdder bouncedBytes = new LongAdder();
    private final LongAdder fullEvents = new LongAdder();
    private volatile boolean belowLimit = true;

    private final FaultInjector faults;

    /**
     * Creates the default pool.
     *
     * @param poolSize bytes per pool (rounded up to whole segments per area)
     * @param areas    areas per pool, a power of two (reduced for small pools)
     * @param growable whether to add pools when full
     * @param limit    the pool should lie below this physical address (4 GiB by default); if
     *                 the machine has no room there, it goes wherever DRAM has room
     * @throws IllegalStateException naming the size when the machine cannot hold the pool
     */
    Swiotlb(Machine machine, long poolSize, int areas, boolean growable, long limit) {
        this.space = machine.addressSpace();
        this.pages = machine.pageAllocator();
        this.faults = machine.faultInjector();
        this.areas = areas;
        this.growable = growable;
        this.limit = limit;
        this.poolSize = poolSize;
        if (addPool(poolSize) == null) {
            throw new IllegalStateException("swiotlb: cannot allocate a " + ByteSize.format(poolSize) + " bounce pool on machine " + machine.name()
                    + " (" + pages.allocatedPages() + " pages already in use)");
        }
    }

    // ---------------------------------------------------------------- pools

    /** Allocates and publishes one pool of about {@code bytes}; null when memory is short. */
    private synchronized SlotPool addPool(long bytes) {
        long blockBytes = Math.min(PageAllocator.PAGE_SIZE << PageAllocator.MAX_ORDER, Long.highestOneBit(Math.max(bytes, MIN_POOL)));
        int nareas = Math.max(1, Math.min(areas, (int) (bytes / (SlotPool.SLOT_SIZE * SlotPool.SEGMENT_SLOTS))));
        long perArea = SlotPool.SLOT_SIZE * SlotPool.SEGMENT_SLOTS * nareas;
        long rounded = (bytes + perArea - 1) / perArea * perArea;
        int nblocks = (int) ((rounded + blockBytes - 1) / blockBytes);
        while (((long) nblocks * blockBytes) % perArea != 0) {
            nblocks++;
        }
        int order = PageAllocator.orderFor(blockBytes);
        long[] blocks = new long[nblocks];
        boolean low = true;
        int got = 0;
        try {
            for (; got < nblocks; got++) {
                try {
                    blocks[got] = pages.allocPages(order, limit);
                } catch (PageAllocationException e) {
                    low = false;
                    blocks[got] = pages.allocPages(order);
                }
            }
        } catch (PageAllocationException e) {
            for (int i = 0; i < got; i++) {
                pages.freePages(blocks[i]);
            }
            return null;
        }
        if (!low) {
            belowLimit = false;
        }
        SlotPool pool = new SlotPool(pools.size(), blocks, Long.numberOfTrailingZeros(blockBytes) - SlotPool.SLOT_SHIFT, nareas);
        pools.add(pool);
        poolArray = pools.toArray(SlotPool[]::new);
        List<long[]> all = new ArrayList<>();
        for (SlotPool p : pools) {
            long[] b = p.blocks();
            for (int i = 0; i < b.length; i++) {
                all.add(new long[] {b[i], p.id, i});
            }
        }
        all.sort((x, y) -> Long.compare(x[0], y[0]));
        long[] starts = new long[all.size()];
        SlotPool[] owners = new SlotPool[all.size()];
        int[] blockNos = new int[all.size()];
        long maxBytes = 0;
        for (int i = 0; i < starts.length; i++) {
            starts[i] = all.get(i)[0];
            owners[i] = pools.get((int) all.get(i)[1]);
            blockNos[i] = (int) all.get(i)[2];
            maxBytes = Math.max(maxBytes, owners[i].blockBytes());
        }
        index = new BlockIndex(starts, maxBytes, owners, blockNos);
        return pool;
    }

    /** Adds a pool when full and growth is on: the default size, halving down to 1 MiB while memory is short. */
    private boolean grow() {
        for (long size = poolSize; size >= MIN_POOL; size /= 2) {
            if (addPool(size) != null) {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- BounceService

    @Override
    public long map(Device device, long origPhys, long size, long allocAlignMask, long offsetMask, DmaDirection dir, int attrs) {
        // maxMappingSize is what drivers are told (swiotlb_max_mapping_size via
        // dma_max_mapping_size); swiotlb_tbl_map_single itself does not check it: the slot
        // search decides, and with dynamic pools swiotlb_find_slots refuses a run longer than
        // one segment up front (v6.12).
        long minAlign = device.attributes().minAlignMask() | offsetMask;
        long offset = origPhys & minAlign & (allocAlignMask | (SlotPool.SLOT_SIZE - 1));
        long allocSize = (size + offset + allocAlignMask) & ~allocAlignMask;
        if (growable && size + offset > (long) SlotPool.SEGMENT_SLOTS * SlotPool.SLOT_SIZE) {
            throw new DmaMappingException(device.name(), origPhys, size, String.format(
                    "%d bytes at offset %d exceed one %d-byte swiotlb segment (the most one bounce can take)",
                    size, offset, (long) SlotPool.SEGMENT_SLOTS * SlotPool.SLOT_SIZE));
        }
        if (allocSize > Integer.MAX_VALUE) {
            allocSize = Integer.MAX_VALUE; // more slots than any pool holds: the search fails as it would
        }
        int nslots = (int) ((allocSize + SlotPool.SLOT_SIZE - 1) >>> SlotPool.SLOT_SHIFT);
        long alignMask = allocAlignMask;
        long iotlbAlign = minAlign;
        if (alignMask == 0 && iotlbAlign == 0 && allocSize >= PageAllocator.PAGE_SIZE) {
            alignMask = PageAllocator.PAGE_SIZE - 1; // legacy rule: streaming mappings of a page or more are page-aligned
        }
        alignMask |= SlotPool.SLOT_SIZE - 1;
        iotlbAlign &= ~alignMask;
        long boundary = device.attributes().segmentBoundaryMask();
        long busOffset = device.attributes().rangeOffset();

        boolean injected = faults.armed() && faults.shouldFail(FaultInjector.Point.SWIOTLB, device.name());
        int start = injected ? -1 : find(nslots, origPhys, alignMask, iotlbAlign, boundary, busOffset);
        if (start < 0 && !injected && growable && grow()) {
            start = find(nslots, origPhys, alignMask, iotlbAlign, boundary, busOffset);
        }
        if (start < 0) {
            fullEvents.increment();
            throw new DmaMappingException(device.name(), origPhys, size, String.format(
                    "bounce buffer full: swiotlb buffer is full (sz: %d bytes), total %d (slots), used %d (slots), %d pool(s)%s",
                    size, totalSlots(), used.get(), poolArray.length, injected ? ": injected failure (swiotlb)" : growable ? ", growth failed" : ""));
        }
        SlotPool pool = poolArray[start >>> 24];
        int first = (start & 0xFF_FFFF);
        int padSlots = (int) (offset >>> SlotPool.SLOT_SHIFT);
        long sub = offset & (SlotPool.SLOT_SIZE - 1);
        int data = first + padSlots;
        pool.pad[data] = (short) padSlots;
        long tlb = pool.slotAddress(data) + sub;
        long end = tlb + size;
        for (int i = data; i < first + nslots; i++) {
            long slotStart = pool.slotAddress(i);
            pool.orig[i] = origPhys - sub + ((long) (i - data) << SlotPool.SLOT_SHIFT);
            pool.remaining[i] = (int) Math.max(0, end - slotStart);
        }
        long now = used.addAndGet(nslots);
        long hw = highWater.get();
        while (now > hw && !highWater.compareAndSet(hw, now)) {
            hw = highWater.get();
        }
        mappings.increment();
        space.copy(origPhys, tlb, size); // always, so bytes the device does not write read back as the original
        bouncedBytes.add(size);
        BounceEvent e = new BounceEvent();
        if (e.shouldCommit()) {
            e.device = device.name();
            e.orig = origPhys;
            e.bounce = tlb;
            e.size = size;
            e.slots = nslots;
            e.direction = dir.name();
            e.commit();
        }
        return tlb;
    }

    /** Searches every pool, starting each at the current thread's area; returns (pool << 24 | slot) or -1. */
    private int find(int nslots, long orig, long alignMask, long iotlbAlign, long boundary, long busOffset) {
        SlotPool[] ps = poolArray;
        int home = (int) Thread.currentThread().threadId();
        for (SlotPool p : ps) {
            int n = p.areas();
            for (int k = 0; k < n; k++) {
                int area = (home + k) & (n - 1);
                int slot = p.take(area, nslots, orig, alignMask, iotlbAlign, boundary, busOffset);
                if (slot >= 0) {
                    return (p.id << 24) | slot;
                }
            }
        }
        return -1;
    }

    @Override
    public void unmap(Device device, long bouncePhys, long size, DmaDirection dir, int attrs) {
        BlockIndex ix = index;
        int b = block(ix, bouncePhys);
        SlotPool pool = b < 0 ? null : ix.pools[b];
        int slot = b < 0 ? -1 : pool.slotOf(ix.blocks[b], bouncePhys);
        if (slot < 0 || pool.pad[slot] < 0 || pool.orig[slot] == SlotPool.NO_ORIG) { // not the first data slot of a live mapping
            throw notMapped(device, bouncePhys, size, "unmap");
        }
        checkBounds(device, pool, slot, bouncePhys, size, "unmap");
        if (dir.deviceWrites() && (attrs & DmaAttrs.SKIP_CPU_SYNC) == 0) {
            copyBack(pool, slot, bouncePhys, size);
        }
        int start = slot - pool.pad[slot];
        int nslots = pool.run[start];
        pool.release(start);
        used.addAndGet(-nslots);
    }

    @Override
    public void syncForCpu(Device device, long bouncePhys, long size, DmaDirection dir) {
        if (dir.deviceWrites()) {
            space.copy(bouncePhys, originalOf(device, bouncePhys, size, "syncForCpu"), size);
            bouncedBytes.add(size);
        }
    }

    @Override
    public void syncForDevice(Device device, long bouncePhys, long size, DmaDirection dir) {
        if (dir.deviceReads()) {
            space.copy(originalOf(device, bouncePhys, size, "syncForDevice"), bouncePhys, size);
            bouncedBytes.add(size);
        }
    }

    /** The original address behind a bounce address, after checking the range lies in a live mapping. */
    private long originalOf(Device device, long bouncePhys, long size, String call) {
        BlockIndex ix = index;
        int b = block(ix, bouncePhys);
        if (b < 0) {
            throw notMapped(device, bouncePhys, size, call);
        }
        SlotPool pool = ix.pools[b];
        int slot = pool.slotOf(ix.blocks[b], bouncePhys);
        checkBounds(device, pool, slot, bouncePhys, size, call);
        return pool.orig[slot] + (bouncePhys & (SlotPool.SLOT_SIZE - 1));
    }

    private void copyBack(SlotPool pool, int slot, long bouncePhys, long size) {
        space.copy(bouncePhys, pool.orig[slot] + (bouncePhys & (SlotPool.SLOT_SIZE - 1)), size);
        bouncedBytes.add(size);
    }

    /** The kernel's over-run check in swiotlb_bounce: the range must lie inside the live mapping. */
    private static void checkBounds(Device device, SlotPool pool, int slot, long bouncePhys, long size, String call) {
        long slotStart = bouncePhys & ~(SlotPool.SLOT_SIZE - 1);
        if (pool.orig[slot] == SlotPool.NO_ORIG || bouncePhys + size > slotStart + pool.remaining[slot]) {
            throw new DmaApiMisuseException(device.name(), MisuseCheck.SWIOTLB_OVERRUN, String.format(
                    "%s of 0x%x (+%d bytes) runs past the bounce mapping (%d bytes left from that slot): buffer overflow detected",
                    call, bouncePhys, size, Math.max(0, slotStart + pool.remaining[slot] - bouncePhys)));
        }
    }

    private static DmaApiMisuseException notMapped(Device device, long bouncePhys, long size, String call) {
        return new DmaApiMisuseException(device.name(), MisuseCheck.SWIOTLB_NOT_MAPPED,
                String.format("%s of 0x%x (+%d bytes): not the start of a live bounce mapping", call, bouncePhys, size));
    }

    @Override
    public boolean isBounce(long phys) {
        return block(index, phys) >= 0;
    }

    /** The block holding {@code phys}, or -1. Binary search; allocation-free. */
    private static int block(BlockIndex ix, long phys) {
        long[] starts = ix.starts;
        int lo = 0;
        int hi = starts.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (starts[mid] <= phys) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return hi >= 0 && phys - starts[hi] < ix.pools[hi].blockBytes() ? hi : -1;
    }

    @Override
    public long maxMappingSize(Device device) {
        long minAlign = device.attributes().minAlignMask();
        long roundedAlign = minAlign == 0 ? 0 : (minAlign + SlotPool.SLOT_SIZE - 1) & ~(SlotPool.SLOT_SIZE - 1);
        return MAX_MAPPING - roundedAlign;
    }

    long totalSlots() {
        long t = 0;
        for (SlotPool p : poolArray) {
            t += p.slots();
        }
        return t;
    }

    /** Slots in use (the kernel's io_tlb_used). */
    long usedSlots() {
        return used.get();
    }

    /** Resets the high-water mark to the current use (writing 0 to io_tlb_used_hiwater). */
    void resetHighWater() {
        highWater.set(used.get());
    }

    @Override
    public void gauges(MetricSink m) {
        m.put(Metrics.BOUNCE_SLOTS_TOTAL, totalSlots());
        m.put(Metrics.BOUNCE_SLOTS_USED, used.get());
        m.put(Metrics.BOUNCE_SLOTS_HIGH_WATER, highWater.get());
        m.put(Metrics.BOUNCE_BYTES_TOTAL, totalSlots() * SlotPool.SLOT_SIZE);
        m.put(Metrics.BOUNCE_POOLS, poolArray.length);
        m.put(Metrics.BOUNCE_AREAS, poolArray.length == 0 ? 0 : poolArray[0].areas());
        m.put(Metrics.BOUNCE_MAPPINGS, mappings.sum());
        m.put(Metrics.BOUNCE_BOUNCED_BYTES, bouncedBytes.sum());
        m.put(Metrics.BOUNCE_FULL, fullEvents.sum());
        m.put(Metrics.BOUNCE_BELOW_LIMIT, belowLimit ? 1L : 0L);
    }

    @Override
    public String toString() {
        return "swiotlb[slots=" + totalSlots() + ", used=" + used.get() + ", pools=" + poolArray.length + "]";
    }
}
