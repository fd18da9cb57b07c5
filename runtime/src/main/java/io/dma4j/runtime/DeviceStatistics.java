package io.dma4j.runtime;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of one device's DMA-API use, updated by the runtime's dispatch. Counting is
 * allocation-free after warm-up ({@link LongAdder}).
 *
 * <p>Thread safety: safe for concurrent use; a {@link #snapshot()} is not atomic across counters.
 */
public final class DeviceStatistics {
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

    /** All counters by name, in a stable order. */
    public Map<String, Long> snapshot() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("maps", maps.sum());
        m.put("unmaps", unmaps.sum());
        m.put("mappedBytes", mappedBytes.sum());
        m.put("liveBytes", liveBytes.get());
        m.put("peakLiveBytes", peakLiveBytes.get());
        m.put("sgMaps", sgMaps.sum());
        m.put("sgSegments", sgSegments.sum());
        m.put("syncsForCpu", syncsForCpu.sum());
        m.put("syncsForDevice", syncsForDevice.sum());
        m.put("coherentAllocs", coherentAllocs.sum());
        m.put("coherentFrees", coherentFrees.sum());
        m.put("iovaAllocs", iovaAllocs.sum());
        m.put("iovaAllocFallbacks", iovaAllocFallbacks.sum());
        m.put("iovaLinks", iovaLinks.sum());
        m.put("iovaLinkedBytes", iovaLinkedBytes.sum());
        m.put("iovaSyncs", iovaSyncs.sum());
        m.put("iovaUnlinks", iovaUnlinks.sum());
        m.put("iovaDestroys", iovaDestroys.sum());
        m.put("iovaFrees", iovaFrees.sum());
        m.put("mappingErrors", mappingErrors.sum());
        return m;
    }
}
