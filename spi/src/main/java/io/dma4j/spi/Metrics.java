package io.dma4j.spi;

import io.dma4j.spi.Metric.Kind;
import io.dma4j.spi.Metric.Source;
import io.dma4j.spi.Metric.Unit;

import java.util.List;

/**
 * The catalogue of every figure dma4j's runtime and providers report: the runtime's
 * counters of API use, the device's DMA traffic and faults, the IOMMU backend's IOVA,
 * page-table, IOTLB and flush-queue figures, and the bounce-buffer pool's. Providers,
 * the runtime, {@code dmactl} and the README name metrics only through these constants
 * (the README's table is checked against {@link #ALL}).
 */
public final class Metrics {
    /** mapPhys calls that succeeded. */
    public static final Metric MAPS = new Metric(Source.RUNTIME, "maps", Unit.CALLS, Kind.COUNTER, "mapPhys calls that succeeded");
    /** unmapPhys and unmapSg calls. */
    public static final Metric UNMAPS = new Metric(Source.RUNTIME, "unmaps", Unit.CALLS, Kind.COUNTER, "unmapPhys and unmapSg calls");
    /** Bytes mapped by mapPhys and mapSg. */
    public static final Metric MAPPED_BYTES = new Metric(Source.RUNTIME, "mappedBytes", Unit.BYTES, Kind.COUNTER, "bytes mapped by mapPhys and mapSg");
    /** Bytes mapped now by the classic calls and coherent allocations. */
    public static final Metric LIVE_BYTES = new Metric(Source.RUNTIME, "liveBytes", Unit.BYTES, Kind.GAUGE, "bytes mapped now by the classic calls and coherent allocations");
    /** The highest liveBytes seen. */
    public static final Metric PEAK_LIVE_BYTES = new Metric(Source.RUNTIME, "peakLiveBytes", Unit.BYTES, Kind.GAUGE, "the highest liveBytes seen");
    /** mapSg calls that succeeded. */
    public static final Metric SG_MAPS = new Metric(Source.RUNTIME, "sgMaps", Unit.CALLS, Kind.COUNTER, "mapSg calls that succeeded");
    /** DMA segments produced by mapSg. */
    public static final Metric SG_SEGMENTS = new Metric(Source.RUNTIME, "sgSegments", Unit.COUNT, Kind.COUNTER, "DMA segments produced by mapSg");
    /** syncForCpu and syncSgForCpu calls. */
    public static final Metric SYNCS_FOR_CPU = new Metric(Source.RUNTIME, "syncsForCpu", Unit.CALLS, Kind.COUNTER, "syncForCpu and syncSgForCpu calls");
    /** syncForDevice and syncSgForDevice calls. */
    public static final Metric SYNCS_FOR_DEVICE = new Metric(Source.RUNTIME, "syncsForDevice", Unit.CALLS, Kind.COUNTER, "syncForDevice and syncSgForDevice calls");
    /** allocCoherent calls that succeeded. */
    public static final Metric COHERENT_ALLOCS = new Metric(Source.RUNTIME, "coherentAllocs", Unit.CALLS, Kind.COUNTER, "allocCoherent calls that succeeded");
    /** freeCoherent calls. */
    public static final Metric COHERENT_FREES = new Metric(Source.RUNTIME, "coherentFrees", Unit.CALLS, Kind.COUNTER, "freeCoherent calls");
    /** iovaTryAlloc calls that answered true. */
    public static final Metric IOVA_ALLOCS = new Metric(Source.RUNTIME, "iovaAllocs", Unit.CALLS, Kind.COUNTER, "iovaTryAlloc calls that answered true");
    /** iovaTryAlloc calls that answered false. */
    public static final Metric IOVA_ALLOC_FALLBACKS = new Metric(Source.RUNTIME, "iovaAllocFallbacks", Unit.CALLS, Kind.COUNTER, "iovaTryAlloc calls that answered false");
    /** iovaLink calls that succeeded. */
    public static final Metric IOVA_LINKS = new Metric(Source.RUNTIME, "iovaLinks", Unit.CALLS, Kind.COUNTER, "iovaLink calls that succeeded");
    /** Bytes linked by iovaLink. */
    public static final Metric IOVA_LINKED_BYTES = new Metric(Source.RUNTIME, "iovaLinkedBytes", Unit.BYTES, Kind.COUNTER, "bytes linked by iovaLink");
    /** iovaSync calls. */
    public static final Metric IOVA_SYNCS = new Metric(Source.RUNTIME, "iovaSyncs", Unit.CALLS, Kind.COUNTER, "iovaSync calls");
    /** iovaUnlink calls. */
    public static final Metric IOVA_UNLINKS = new Metric(Source.RUNTIME, "iovaUnlinks", Unit.CALLS, Kind.COUNTER, "iovaUnlink calls");
    /** iovaDestroy calls. */
    public static final Metric IOVA_DESTROYS = new Metric(Source.RUNTIME, "iovaDestroys", Unit.CALLS, Kind.COUNTER, "iovaDestroy calls");
    /** iovaFree calls. */
    public static final Metric IOVA_FREES = new Metric(Source.RUNTIME, "iovaFrees", Unit.CALLS, Kind.COUNTER, "iovaFree calls");
    /** Calls that failed with DmaMappingException. */
    public static final Metric MAPPING_ERRORS = new Metric(Source.RUNTIME, "mappingErrors", Unit.EVENTS, Kind.COUNTER, "calls that failed with DmaMappingException");
    /** DMA faults the device caused (machine fault log). */
    public static final Metric FAULTS = new Metric(Source.DEVICE, "faults", Unit.EVENTS, Kind.COUNTER, "DMA faults the device caused (machine fault log)");
    /** Bytes the device read from memory through its DMA port. */
    public static final Metric DEVICE_BYTES_READ = new Metric(Source.DEVICE, "deviceBytesRead", Unit.BYTES, Kind.COUNTER, "bytes the device read from memory through its DMA port");
    /** Bytes the device wrote to memory through its DMA port. */
    public static final Metric DEVICE_BYTES_WRITTEN = new Metric(Source.DEVICE, "deviceBytesWritten", Unit.BYTES, Kind.COUNTER, "bytes the device wrote to memory through its DMA port");
    /** The IOVA granule (the IOMMU page size). */
    public static final Metric IOVA_GRANULE_BYTES = new Metric(Source.BACKEND, "iova.granuleBytes", Unit.BYTES, Kind.GAUGE, "the IOVA granule (the IOMMU page size)");
    /** IOVA granules reserved and not sitting in a cache. */
    public static final Metric IOVA_IN_USE_GRANULES = new Metric(Source.BACKEND, "iova.inUseGranules", Unit.GRANULES, Kind.GAUGE, "IOVA granules reserved and not sitting in a cache");
    /** IOVA granules taken from the allocator's tree, cached ones included. */
    public static final Metric IOVA_RESERVED_GRANULES = new Metric(Source.BACKEND, "iova.reservedGranules", Unit.GRANULES, Kind.GAUGE, "IOVA granules taken from the allocator's tree, cached ones included");
    /** The highest iova.reservedGranules seen. */
    public static final Metric IOVA_PEAK_RESERVED_GRANULES = new Metric(Source.BACKEND, "iova.peakReservedGranules", Unit.GRANULES, Kind.GAUGE, "the highest iova.reservedGranules seen");
    /** IOVA granules held in the per-thread magazines and the depot. */
    public static final Metric IOVA_CACHED_GRANULES = new Metric(Source.BACKEND, "iova.cachedGranules", Unit.GRANULES, Kind.GAUGE, "IOVA granules held in the per-thread magazines and the depot");
    /** Page-table pages of the domain. */
    public static final Metric PAGETABLE_PAGES = new Metric(Source.BACKEND, "pagetable.pages", Unit.PAGES, Kind.GAUGE, "page-table pages of the domain");
    /** Page-table pages freed (an emptied table replaced by a block, a table an unmap covered). */
    public static final Metric PAGETABLE_PAGES_FREED = new Metric(Source.BACKEND, "pagetable.pagesFreed", Unit.PAGES, Kind.COUNTER, "page-table pages freed (an emptied table replaced by a block, a table an unmap covered)");
    /** The IOTLB's capacity. */
    public static final Metric IOTLB_ENTRIES = new Metric(Source.BACKEND, "iotlb.entries", Unit.ENTRIES, Kind.GAUGE, "the IOTLB's capacity");
    /** Device accesses translated by the IOTLB. */
    public static final Metric IOTLB_HITS = new Metric(Source.BACKEND, "iotlb.hits", Unit.EVENTS, Kind.COUNTER, "device accesses translated by the IOTLB");
    /** Device accesses that walked the page table. */
    public static final Metric IOTLB_MISSES = new Metric(Source.BACKEND, "iotlb.misses", Unit.EVENTS, Kind.COUNTER, "device accesses that walked the page table");
    /** IOTLB invalidations of a range (strict unmaps, unlinks). */
    public static final Metric IOTLB_RANGE_INVALIDATIONS = new Metric(Source.BACKEND, "iotlb.rangeInvalidations", Unit.EVENTS, Kind.COUNTER, "IOTLB invalidations of a range (strict unmaps, unlinks)");
    /** whole-IOTLB flushes (flush queue). */
    public static final Metric IOTLB_FULL_FLUSHES = new Metric(Source.BACKEND, "iotlb.fullFlushes", Unit.EVENTS, Kind.COUNTER, "whole-IOTLB flushes (flush queue)");
    /** Iotlb_sync_map calls (one per iovaSync). */
    public static final Metric IOTLB_SYNC_MAPS = new Metric(Source.BACKEND, "iotlb.syncMaps", Unit.EVENTS, Kind.COUNTER, "iotlb_sync_map calls (one per iovaSync)");
    /** 1 when the domain invalidates at every unmap, 0 for lazy. */
    public static final Metric IOMMU_STRICT = new Metric(Source.BACKEND, "strict", Unit.FLAG, Kind.GAUGE, "1 when the domain invalidates at every unmap, 0 for lazy");
    /** Unmapped IOVA ranges waiting in the flush queue. */
    public static final Metric FLUSH_QUEUE_DEPTH = new Metric(Source.BACKEND, "flushQueue.depth", Unit.ENTRIES, Kind.GAUGE, "unmapped IOVA ranges waiting in the flush queue");
    /** Flushes because a flush-queue ring was full. */
    public static final Metric FLUSH_QUEUE_FULL_FLUSHES = new Metric(Source.BACKEND, "flushQueue.fullFlushes", Unit.EVENTS, Kind.COUNTER, "flushes because a flush-queue ring was full");
    /** Flushes because the flush-queue timeout passed. */
    public static final Metric FLUSH_QUEUE_TIMEOUT_FLUSHES = new Metric(Source.BACKEND, "flushQueue.timeoutFlushes", Unit.EVENTS, Kind.COUNTER, "flushes because the flush-queue timeout passed");
    /** Device accesses that reached a page through a stale IOTLB entry after its unmap (lazy mode). */
    public static final Metric EXPOSURES = new Metric(Source.BACKEND, "exposures", Unit.EVENTS, Kind.COUNTER, "device accesses that reached a page through a stale IOTLB entry after its unmap (lazy mode)");
    /** 2 KiB bounce slots in all pools. */
    public static final Metric BOUNCE_SLOTS_TOTAL = new Metric(Source.BOUNCE, "slots.total", Unit.SLOTS, Kind.GAUGE, "2 KiB bounce slots in all pools");
    /** Bounce slots in use. */
    public static final Metric BOUNCE_SLOTS_USED = new Metric(Source.BOUNCE, "slots.used", Unit.SLOTS, Kind.GAUGE, "bounce slots in use");
    /** The highest slots.used seen. */
    public static final Metric BOUNCE_SLOTS_HIGH_WATER = new Metric(Source.BOUNCE, "slots.highWater", Unit.SLOTS, Kind.GAUGE, "the highest slots.used seen");
    /** Bytes of bounce memory in all pools. */
    public static final Metric BOUNCE_BYTES_TOTAL = new Metric(Source.BOUNCE, "bytes.total", Unit.BYTES, Kind.GAUGE, "bytes of bounce memory in all pools");
    /** Bounce pools (more than 1 after dynamic growth). */
    public static final Metric BOUNCE_POOLS = new Metric(Source.BOUNCE, "pools", Unit.COUNT, Kind.GAUGE, "bounce pools (more than 1 after dynamic growth)");
    /** Areas per pool, each with its own lock. */
    public static final Metric BOUNCE_AREAS = new Metric(Source.BOUNCE, "areas", Unit.COUNT, Kind.GAUGE, "areas per pool, each with its own lock");
    /** Bounce buffers handed out. */
    public static final Metric BOUNCE_MAPPINGS = new Metric(Source.BOUNCE, "mappings", Unit.CALLS, Kind.COUNTER, "bounce buffers handed out");
    /** Bytes of the bounce buffers handed out. */
    public static final Metric BOUNCE_BOUNCED_BYTES = new Metric(Source.BOUNCE, "bouncedBytes", Unit.BYTES, Kind.COUNTER, "bytes of the bounce buffers handed out");
    /** Mappings refused because no slot run fitted. */
    public static final Metric BOUNCE_FULL = new Metric(Source.BOUNCE, "full", Unit.EVENTS, Kind.COUNTER, "mappings refused because no slot run fitted");
    /** 1 when the default pool lies below the configured limit. */
    public static final Metric BOUNCE_BELOW_LIMIT = new Metric(Source.BOUNCE, "belowLimit", Unit.FLAG, Kind.GAUGE, "1 when the default pool lies below the configured limit");

    /** Every metric of the catalogue, in the order statistics views show them. */
    public static final List<Metric> ALL = List.of(
            MAPS,
            UNMAPS,
            MAPPED_BYTES,
            LIVE_BYTES,
            PEAK_LIVE_BYTES,
            SG_MAPS,
            SG_SEGMENTS,
            SYNCS_FOR_CPU,
            SYNCS_FOR_DEVICE,
            COHERENT_ALLOCS,
            COHERENT_FREES,
            IOVA_ALLOCS,
            IOVA_ALLOC_FALLBACKS,
            IOVA_LINKS,
            IOVA_LINKED_BYTES,
            IOVA_SYNCS,
            IOVA_UNLINKS,
            IOVA_DESTROYS,
            IOVA_FREES,
            MAPPING_ERRORS,
            FAULTS,
            DEVICE_BYTES_READ,
            DEVICE_BYTES_WRITTEN,
            IOVA_GRANULE_BYTES,
            IOVA_IN_USE_GRANULES,
            IOVA_RESERVED_GRANULES,
            IOVA_PEAK_RESERVED_GRANULES,
            IOVA_CACHED_GRANULES,
            PAGETABLE_PAGES,
            PAGETABLE_PAGES_FREED,
            IOTLB_ENTRIES,
            IOTLB_HITS,
            IOTLB_MISSES,
            IOTLB_RANGE_INVALIDATIONS,
            IOTLB_FULL_FLUSHES,
            IOTLB_SYNC_MAPS,
            IOMMU_STRICT,
            FLUSH_QUEUE_DEPTH,
            FLUSH_QUEUE_FULL_FLUSHES,
            FLUSH_QUEUE_TIMEOUT_FLUSHES,
            EXPOSURES,
            BOUNCE_SLOTS_TOTAL,
            BOUNCE_SLOTS_USED,
            BOUNCE_SLOTS_HIGH_WATER,
            BOUNCE_BYTES_TOTAL,
            BOUNCE_POOLS,
            BOUNCE_AREAS,
            BOUNCE_MAPPINGS,
            BOUNCE_BOUNCED_BYTES,
            BOUNCE_FULL,
            BOUNCE_BELOW_LIMIT);

    private Metrics() {
    }

    /** The catalogue's metric with this key ("backend.exposures"), or {@code null}. */
    public static Metric byKey(String key) {
        for (Metric m : ALL) {
            if (m.key().equals(key)) {
                return m;
            }
        }
        return null;
    }
}
