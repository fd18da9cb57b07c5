package io.dma4j.provider.iommu;

import io.dma4j.spi.DmaClock;
import io.dma4j.spi.MetricSink;
import io.dma4j.spi.Metrics;

import io.dma4j.platform.ReservedRegion;
import io.dma4j.platform.device.DmaAccess;
import io.dma4j.platform.device.DmaTranslation;
import io.dma4j.platform.device.FaultReason;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * A DMA domain (one per IOMMU group): its page table, IOVA allocator, IOTLB and, in lazy
 * mode, its flush queue. It is the translation every device of the group sees: a device
 * access looks in the IOTLB, walks the page table on a miss (and fills the IOTLB), and
 * faults when nothing is mapped or the permission is missing. A hit on an IOTLB entry that
 * no longer matches the page table (an unmap not yet flushed) reaches the old page, as
 * hardware would, and is counted as an exposure.
 *
 * <p>Thread safety: safe for concurrent use.
 */
public final class IommuDomain implements FlushQueue.Owner, DmaTranslation {
    private final String unit;
    private final int group;
    private final PageTableFormat format;
    private final PageTable table;
    private final IovaAllocator iova;
    private final Iotlb iotlb;
    private final FlushQueue flushQueue;
    private final long invalidationNs;
    private final List<ReservedRegion> reservedRegions;
    private final long[] reservedStart; // the regions the domain reserves, in address order, for fault reasons
    private final long[] reservedEnd;
    private final LongAdder exposures = new LongAdder();
    private final LongAdder syncMaps = new LongAdder();
    private final String name; // for events: "dmar0 group 3"

    /**
     * @param strict         invalidate at every unmap (else queue lazily)
     * @param singleQueue    lazy mode with one shared 32768-entry queue instead of per-thread ones
     * @param iotlbEntries   IOTLB capacity (a power of two)
     * @param invalidationNs simulated cost of one hardware invalidation (busy wait), 0 for none
     * @param clock          time for the flush queue's timeout and the IOVA caches
     * @param reserved       the regions of the domain's address space ({@code iova_reserve_iommu_regions}):
     *                       those a DMA domain reserves are kept out of the IOVA allocator for good
     */
    IommuDomain(String unit, int group, PageTableFormat format, boolean strict, boolean singleQueue, int iotlbEntries, long invalidationNs, DmaClock clock,
                List<ReservedRegion> reserved) {
        this.unit = unit;
        this.group = group;
        this.name = unit + " group " + group;
        this.format = format;
        this.table = new PageTable(format);
        this.iova = new IovaAllocator(format.granuleShift, 1, clock);
        this.iotlb = new Iotlb(iotlbEntries);
        this.flushQueue = strict ? null : new FlushQueue(this, singleQueue, clock);
        this.invalidationNs = invalidationNs;
        List<ReservedRegion> sorted = new ArrayList<>(reserved);
        sorted.sort(Comparator.comparingLong(ReservedRegion::start));
        this.reservedRegions = List.copyOf(sorted);
        int n = 0;
        long[] starts = new long[sorted.size()];
        long[] ends = new long[sorted.size()];
        for (ReservedRegion r : sorted) {
            if (r.reservedInDmaDomain() && r.start() <= format.apertureEnd()) {
                long end = Math.min(r.end(), format.apertureEnd());
                iova.reserve(r.start() >>> format.granuleShift, end >>> format.granuleShift);
                starts[n] = r.start();
                ends[n++] = end;
            }
        }
        this.reservedStart = Arrays.copyOf(starts, n);
        this.reservedEnd = Arrays.copyOf(ends, n);
    }

    public PageTable table() {
        return table;
    }

    public IovaAllocator iova() {
        return iova;
    }

    public PageTableFormat format() {
        return format;
    }

    /** Whether unmaps invalidate at once. */
    public boolean strict() {
        return flushQueue == null;
    }

    FlushQueue flushQueue() {
        return flushQueue;
    }

    /** Synchronous invalidation of a range ({@code iommu_iotlb_sync} after an unmap). */
    void invalidate(long iova, long len) {
        IotlbFlushEvent e = new IotlbFlushEvent();
        e.begin();
        iotlb.invalidate(iova, len);
        spin();
        flushed(e, "range", iova, len);
    }

    @Override
    public void flushIotlbAll() {
        IotlbFlushEvent e = new IotlbFlushEvent();
        e.begin();
        iotlb.invalidateAll();
        spin();
        flushed(e, "full", 0, 0);
    }

    private void flushed(IotlbFlushEvent e, String kind, long iova, long len) {
        e.end();
        if (e.shouldCommit()) {
            e.domain = name;
            e.kind = kind;
            e.iova = iova;
            e.size = len;
            e.commit();
        }
    }

    @Override
    public void freeIova(long pfn, long pages) {
        iova.freeFast(pfn, pages);
    }

    /** Frees an unmapped IOVA range: now in strict mode (after invalidating), through the flush queue in lazy mode. */
    void retire(long iovaAddr, long len) {
        int shift = format.granuleShift;
        if (flushQueue == null) {
            invalidate(iovaAddr, len);
            iova.freeFast(iovaAddr >>> shift, len >>> shift);
        } else {
            flushQueue.queue(iovaAddr >>> shift, len >>> shift);
        }
    }

    /** Counts an {@code iotlb_sync_map} (what {@code dma_iova_sync} does). */
    void syncMap() {
        syncMaps.increment();
    }

    /** Flushes and empties the flush queue now (lazy mode); a no-op in strict mode. */
    public void flushNow() {
        if (flushQueue != null) {
            flushQueue.drain();
        }
    }

    private void spin() {
        if (invalidationNs > 0) {
            long until = System.nanoTime() + invalidationNs;
            while (System.nanoTime() < until) {
                Thread.onSpinWait();
            }
        }
    }

    @Override
    public long translate(long bus, DmaAccess access) {
        if (bus < 0 || bus > format.apertureEnd()) {
            return FaultReason.OUT_OF_RANGE.code();
        }
        long page = bus >>> 12;
        long v = iotlb.lookup(page);
        if (v == 0) {
            v = table.lookup(bus);
            if (v == 0) {
                return inReserved(bus) ? FaultReason.RESERVED.code() : FaultReason.NOT_MAPPED.code();
            }
            iotlb.fill(page, v);
        } else if (table.lookup(bus) != v) {
            exposures.increment(); // a stale entry: the unmap is not flushed yet, the old page is still reachable
        }
        long need = access == DmaAccess.READ ? PageTable.READ : PageTable.WRITE;
        if ((v & need) == 0) {
            return FaultReason.PERMISSION.code();
        }
        return (v & ~0xFFFL) | (bus & 0xFFF);
    }

    private boolean inReserved(long bus) {
        for (int i = 0; i < reservedStart.length; i++) {
            if (bus >= reservedStart[i] && bus <= reservedEnd[i]) {
                return true;
            }
        }
        return false;
    }

    @Override
    public List<ReservedRegion> reservedRegions() {
        return reservedRegions;
    }

    @Override
    public long[] allocatedIovaRanges() {
        java.util.Map<Long, Long> pfns = iova.ranges();
        long[] out = new long[pfns.size() * 2];
        int i = 0;
        int shift = format.granuleShift;
        for (java.util.Map.Entry<Long, Long> e : pfns.entrySet()) {
            out[i++] = e.getKey() << shift;
            out[i++] = ((e.getValue() + 1) << shift) - 1;
        }
        return out;
    }

    @Override
    public String describe() {
        return "iommu " + unit + " group " + group + " (" + (strict() ? "strict" : "lazy") + ", " + format.configName() + ")";
    }

    /** Figures for statistics. */
    public void gauges(MetricSink m) {
        long reserved = iova.treeGranules();
        long cached = iova.cachedGranules();
        long queued = flushQueue == null ? 0 : flushQueue.depth();
        m.put(Metrics.IOVA_GRANULE_BYTES, format.granule());
        m.put(Metrics.IOVA_IN_USE_GRANULES, Math.max(0, reserved - cached));
        m.put(Metrics.IOVA_RESERVED_GRANULES, reserved);
        m.put(Metrics.IOVA_PEAK_RESERVED_GRANULES, iova.peakTreeGranules());
        m.put(Metrics.IOVA_CACHED_GRANULES, cached);
        m.put(Metrics.PAGETABLE_PAGES, table.tablePages());
        m.put(Metrics.PAGETABLE_PAGES_FREED, table.tablePagesFreed());
        m.put(Metrics.IOTLB_ENTRIES, iotlb.capacity());
        m.put(Metrics.IOTLB_HITS, iotlb.hits());
        m.put(Metrics.IOTLB_MISSES, iotlb.misses());
        m.put(Metrics.IOTLB_RANGE_INVALIDATIONS, iotlb.rangeInvalidations());
        m.put(Metrics.IOTLB_FULL_FLUSHES, iotlb.fullInvalidations());
        m.put(Metrics.IOTLB_SYNC_MAPS, syncMaps.sum());
        m.put(Metrics.IOMMU_STRICT, strict() ? 1L : 0L);
        m.put(Metrics.FLUSH_QUEUE_DEPTH, queued);
        m.put(Metrics.FLUSH_QUEUE_FULL_FLUSHES, flushQueue == null ? 0 : flushQueue.fullFlushes());
        m.put(Metrics.FLUSH_QUEUE_TIMEOUT_FLUSHES, flushQueue == null ? 0 : flushQueue.timeoutFlushes());
        m.put(Metrics.EXPOSURES, exposures.sum());
    }

    /** Stale-IOTLB accesses seen so far. */
    public long exposures() {
        return exposures.sum();
    }
}
