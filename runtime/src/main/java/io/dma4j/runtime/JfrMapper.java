package io.dma4j.runtime;

import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.IovaState;
import io.dma4j.api.ScatterList;

/**
 * The chain's JFR layer, right above the backend: each mapping call becomes a
 * {@link MappingEvents} event timed around the layers below. Present only with
 * {@code dma4j.jfr=true}; even then, with no recording enabling the events, a call costs
 * one {@code shouldCommit()} check and allocates nothing (the event object does not escape).
 *
 * <p>Thread safety: as the layer below.
 */
final class JfrMapper extends ForwardingMapper {
    private final String deviceName;
    private final String backend;

    JfrMapper(DmaMapper next, String backend) {
        super(next);
        this.deviceName = next.device().name();
        this.backend = backend;
    }

    private void commit(MappingEvents.Call e, String call, long phys, long dma, long size, DmaDirection dir) {
        e.end();
        if (e.shouldCommit()) {
            e.device = deviceName;
            e.backend = backend;
            e.call = call;
            e.phys = phys;
            e.dma = dma;
            e.size = size;
            e.direction = dir == null ? null : dir.name();
            e.commit();
        }
    }

    @Override
    public long mapPhys(long phys, long size, DmaDirection dir, int attrs) {
        MappingEvents.Map e = new MappingEvents.Map();
        e.begin();
        long dma = next.mapPhys(phys, size, dir, attrs);
        commit(e, "mapPhys", phys, dma, size, dir);
        return dma;
    }

    @Override
    public void unmapPhys(long dma, long size, DmaDirection dir, int attrs) {
        MappingEvents.Unmap e = new MappingEvents.Unmap();
        e.begin();
        next.unmapPhys(dma, size, dir, attrs);
        commit(e, "unmapPhys", 0, dma, size, dir);
    }

    @Override
    public int mapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        MappingEvents.Map e = new MappingEvents.Map();
        e.begin();
        int mapped = next.mapSg(sg, nents, dir, attrs);
        commit(e, "mapSg", sg.phys(0), sg.dmaAddress(0), bytes(sg, nents), dir);
        return mapped;
    }

    @Override
    public void unmapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        MappingEvents.Unmap e = new MappingEvents.Unmap();
        e.begin();
        long dma = sg.dmaAddress(0);
        next.unmapSg(sg, nents, dir, attrs);
        commit(e, "unmapSg", sg.phys(0), dma, bytes(sg, nents), dir);
    }

    private static long bytes(ScatterList sg, int nents) {
        long n = 0;
        for (int i = 0; i < nents; i++) {
            n += sg.length(i);
        }
        return n;
    }

    @Override
    public void syncForCpu(long dma, long size, DmaDirection dir) {
        MappingEvents.Sync e = new MappingEvents.Sync();
        e.begin();
        next.syncForCpu(dma, size, dir);
        commit(e, "syncForCpu", 0, dma, size, dir);
    }

    @Override
    public void syncForDevice(long dma, long size, DmaDirection dir) {
        MappingEvents.Sync e = new MappingEvents.Sync();
        e.begin();
        next.syncForDevice(dma, size, dir);
        commit(e, "syncForDevice", 0, dma, size, dir);
    }

    @Override
    public void iovaLink(IovaState state, long phys, long offset, long size, DmaDirection dir, int attrs) {
        MappingEvents.Link e = new MappingEvents.Link();
        e.begin();
        next.iovaLink(state, phys, offset, size, dir, attrs);
        commit(e, "iovaLink", phys, state.addr() + offset, size, dir);
    }

    @Override
    public void iovaSync(IovaState state, long offset, long size) {
        MappingEvents.Sync e = new MappingEvents.Sync();
        e.begin();
        next.iovaSync(state, offset, size);
        commit(e, "iovaSync", 0, state.addr() + offset, size, null);
    }

    @Override
    public void iovaUnlink(IovaState state, long offset, long size, DmaDirection dir, int attrs) {
        MappingEvents.Unlink e = new MappingEvents.Unlink();
        e.begin();
        long dma = state.addr() + offset;
        next.iovaUnlink(state, offset, size, dir, attrs);
        commit(e, "iovaUnlink", 0, dma, size, dir);
    }

    @Override
    public void iovaDestroy(IovaState state, long mappedLen, DmaDirection dir, int attrs) {
        MappingEvents.Unlink e = new MappingEvents.Unlink();
        e.begin();
        long dma = state.addr();
        next.iovaDestroy(state, mappedLen, dir, attrs);
        commit(e, "iovaDestroy", 0, dma, mappedLen, dir);
    }
}
