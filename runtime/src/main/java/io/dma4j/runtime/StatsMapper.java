package io.dma4j.runtime;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.DmaMappingException;
import io.dma4j.api.IovaState;
import io.dma4j.api.ScatterList;

import java.lang.foreign.MemorySegment;

/**
 * The statistics layer of a device's chain: counts each call that the layer below
 * completed, and mapping errors, into {@link DeviceStatistics}. Allocation-free.
 *
 * <p>Thread safety: as {@link DmaMapper}; counters are {@link java.util.concurrent.atomic.LongAdder}s.
 */
final class StatsMapper extends ForwardingMapper {
    private final DeviceStatistics stats;

    StatsMapper(DmaMapper next, DeviceStatistics stats) {
        super(next);
        this.stats = stats;
    }

    DeviceStatistics statistics() {
        return stats;
    }

    @Override
    public long mapPhys(long phys, long size, DmaDirection dir, int attrs) {
        long dma;
        try {
            dma = next.mapPhys(phys, size, dir, attrs);
        } catch (DmaMappingException e) {
            stats.mappingErrors.increment();
            throw e;
        }
        stats.maps.increment();
        stats.mappedBytes.add(size);
        stats.addLive(size);
        return dma;
    }

    @Override
    public void unmapPhys(long dma, long size, DmaDirection dir, int attrs) {
        next.unmapPhys(dma, size, dir, attrs);
        stats.unmaps.increment();
        stats.removeLive(size);
    }

    private static long bytes(ScatterList sg, int nents) {
        long bytes = 0;
        for (int i = 0; i < nents; i++) {
            bytes += sg.length(i);
        }
        return bytes;
    }

    @Override
    public int mapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        int count;
        try {
            count = next.mapSg(sg, nents, dir, attrs);
        } catch (DmaMappingException e) {
            stats.mappingErrors.increment();
            throw e;
        }
        long bytes = bytes(sg, nents);
        stats.sgMaps.increment();
        stats.sgSegments.add(count);
        stats.mappedBytes.add(bytes);
        stats.addLive(bytes);
        return count;
    }

    @Override
    public void unmapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        next.unmapSg(sg, nents, dir, attrs);
        stats.unmaps.increment();
        stats.removeLive(bytes(sg, nents));
    }

    @Override
    public void syncForCpu(long dma, long size, DmaDirection dir) {
        next.syncForCpu(dma, size, dir);
        stats.syncsForCpu.increment();
    }

    @Override
    public void syncForDevice(long dma, long size, DmaDirection dir) {
        next.syncForDevice(dma, size, dir);
        stats.syncsForDevice.increment();
    }

    @Override
    public void syncSgForCpu(ScatterList sg, int nents, DmaDirection dir) {
        next.syncSgForCpu(sg, nents, dir);
        stats.syncsForCpu.increment();
    }

    @Override
    public void syncSgForDevice(ScatterList sg, int nents, DmaDirection dir) {
        next.syncSgForDevice(sg, nents, dir);
        stats.syncsForDevice.increment();
    }

    @Override
    public CoherentBuffer allocCoherent(long size, int attrs) {
        CoherentBuffer b;
        try {
            b = next.allocCoherent(size, attrs);
        } catch (DmaMappingException e) {
            stats.mappingErrors.increment();
            throw e;
        }
        stats.coherentAllocs.increment();
        stats.addLive(size);
        return b;
    }

    @Override
    public void freeCoherent(long size, MemorySegment cpu, long dma) {
        next.freeCoherent(size, cpu, dma);
        stats.coherentFrees.increment();
        stats.removeLive(size);
    }

    @Override
    public boolean iovaTryAlloc(IovaState state, long phys, long size) {
        boolean ok = next.iovaTryAlloc(state, phys, size);
        (ok ? stats.iovaAllocs : stats.iovaAllocFallbacks).increment();
        return ok;
    }

    @Override
    public void iovaLink(IovaState state, long phys, long offset, long size, DmaDirection dir, int attrs) {
        try {
            next.iovaLink(state, phys, offset, size, dir, attrs);
        } catch (DmaMappingException e) {
            stats.mappingErrors.increment();
            throw e;
        }
        stats.iovaLinks.increment();
        stats.iovaLinkedBytes.add(size);
    }

    @Override
    public void iovaSync(IovaState state, long offset, long size) {
        next.iovaSync(state, offset, size);
        stats.iovaSyncs.increment();
    }

    @Override
    public void iovaUnlink(IovaState state, long offset, long size, DmaDirection dir, int attrs) {
        next.iovaUnlink(state, offset, size, dir, attrs);
        stats.iovaUnlinks.increment();
    }

    @Override
    public void iovaDestroy(IovaState state, long mappedLen, DmaDirection dir, int attrs) {
        next.iovaDestroy(state, mappedLen, dir, attrs);
        stats.iovaDestroys.increment();
    }

    @Override
    public void iovaFree(IovaState state) {
        next.iovaFree(state);
        stats.iovaFrees.increment();
    }
}
