package io.dma4j.runtime;

import io.dma4j.spi.MetricSink;
import io.dma4j.spi.Metrics;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of one device's DMA-API use, updated by the statistics layer of its chain. Counting is
 * allocation-free after warm-up ({@link LongAdder}).
 *
 * <p>Thread safety: safe for concurrent use; a view is not atomic across counters.
 */
final class DeviceStatistics {
    final LongAdder maps = new LongAdder();
    final LongAdder unmaps = new LongAdder();
    final LongAdder mappedBytes = new LongAdder();
    final LongAdder sgMaps = new LongAdder();
    final LongAdder sgSegments = new LongAdder();
    final LongAdder syncsForCpu = new LongAdder();
    final LongAdder syncsForDevice = new LongAdder();
    final LongAdder coherentAllocs = new LongAdder();
    final LongAdder coherentFrees = new LongAdder();
    final LongAdder iovaAllocs = new LongAdder();
    final LongAdder iovaAllocFallbacks = new LongAdder();
    final LongAdder iovaLinks = new LongAdder();
    final LongAdder iovaLinkedBytes = new LongAdder();
    final LongAdder iovaSyncs = new LongAdder();
    final LongAdder iovaUnlinks = new LongAdder();
    final LongAdder iovaDestroys = new LongAdder();
    final LongAdder iovaFrees = new LongAdder();
    final LongAdder mappingErrors = new LongAdder();
    private final AtomicLong liveBytes = new AtomicLong();
    private final AtomicLong peakLiveBytes = new AtomicLong();

    void addLive(long bytes) {
        long now = liveBytes.addAndGet(bytes);
        long peak = peakLiveBytes.get();
        while (now > peak && !peakLiveBytes.compareAndSet(peak, now)) {
            peak = peakLiveBytes.get();
        }
    }

    void removeLive(long bytes) {
        liveBytes.addAndGet(-bytes);
    }

    /** Bytes currently mapped through the classic calls and coherent allocations (as sized by the caller). */
    public long liveBytes() {
        return liveBytes.get();
    }

    /** The highest {@link #liveBytes()} seen. */
    public long peakLiveBytes() {
        return peakLiveBytes.get();
    }

    /** Writes every counter to {@code out} as the catalogue's metrics. */
    void writeTo(MetricSink out) {
        out.put(Metrics.MAPS, maps.sum());
        out.put(Metrics.UNMAPS, unmaps.sum());
        out.put(Metrics.MAPPED_BYTES, mappedBytes.sum());
        out.put(Metrics.LIVE_BYTES, liveBytes.get());
        out.put(Metrics.PEAK_LIVE_BYTES, peakLiveBytes.get());
        out.put(Metrics.SG_MAPS, sgMaps.sum());
        out.put(Metrics.SG_SEGMENTS, sgSegments.sum());
        out.put(Metrics.SYNCS_FOR_CPU, syncsForCpu.sum());
        out.put(Metrics.SYNCS_FOR_DEVICE, syncsForDevice.sum());
        out.put(Metrics.COHERENT_ALLOCS, coherentAllocs.sum());
        out.put(Metrics.COHERENT_FREES, coherentFrees.sum());
        out.put(Metrics.IOVA_ALLOCS, iovaAllocs.sum());
        out.put(Metrics.IOVA_ALLOC_FALLBACKS, iovaAllocFallbacks.sum());
        out.put(Metrics.IOVA_LINKS, iovaLinks.sum());
        out.put(Metrics.IOVA_LINKED_BYTES, iovaLinkedBytes.sum());
        out.put(Metrics.IOVA_SYNCS, iovaSyncs.sum());
        out.put(Metrics.IOVA_UNLINKS, iovaUnlinks.sum());
        out.put(Metrics.IOVA_DESTROYS, iovaDestroys.sum());
        out.put(Metrics.IOVA_FREES, iovaFrees.sum());
        out.put(Metrics.MAPPING_ERRORS, mappingErrors.sum());
    }
}
