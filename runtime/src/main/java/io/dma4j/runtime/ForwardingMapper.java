package io.dma4j.runtime;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.IovaState;
import io.dma4j.api.P2pMapType;
import io.dma4j.api.P2pState;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.device.Device;

import java.lang.foreign.MemorySegment;

/**
 * A layer of a device's chain that passes every call to the next layer; each layer
 * overrides the calls it has something to do in.
 *
 * <p>Thread safety: as {@link DmaMapper}.
 */
abstract class ForwardingMapper implements DmaMapper {
    /**
     * The layer below. Not final only so that the chain's head can be pointed at a mapper
     * that refuses every call once its runtime closed ({@link MapperChain#close}): a plain
     * field, read on every call at no more cost than a final one, and visible to every
     * thread that learns of the close through a happens-before edge.
     */
    protected DmaMapper next;

    ForwardingMapper(DmaMapper next) {
        this.next = next;
    }

    @Override
    public Device device() {
        return next.device();
    }

    @Override
    public long mapPhys(long phys, long size, DmaDirection dir, int attrs) {
        return next.mapPhys(phys, size, dir, attrs);
    }

    @Override
    public void unmapPhys(long dma, long size, DmaDirection dir, int attrs) {
        next.unmapPhys(dma, size, dir, attrs);
    }

    @Override
    public int mapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        return next.mapSg(sg, nents, dir, attrs);
    }

    @Override
    public void unmapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        next.unmapSg(sg, nents, dir, attrs);
    }

    @Override
    public void syncForCpu(long dma, long size, DmaDirection dir) {
        next.syncForCpu(dma, size, dir);
    }

    @Override
    public void syncForDevice(long dma, long size, DmaDirection dir) {
        next.syncForDevice(dma, size, dir);
    }

    @Override
    public void syncSgForCpu(ScatterList sg, int nents, DmaDirection dir) {
        next.syncSgForCpu(sg, nents, dir);
    }

    @Override
    public void syncSgForDevice(ScatterList sg, int nents, DmaDirection dir) {
        next.syncSgForDevice(sg, nents, dir);
    }

    @Override
    public CoherentBuffer allocCoherent(long size, int attrs) {
        return next.allocCoherent(size, attrs);
    }

    @Override
    public void freeCoherent(long size, MemorySegment cpu, long dma) {
        next.freeCoherent(size, cpu, dma);
    }

    @Override
    public boolean iovaTryAlloc(IovaState state, long phys, long size) {
        return next.iovaTryAlloc(state, phys, size);
    }

    @Override
    public void iovaLink(IovaState state, long phys, long offset, long size, DmaDirection dir, int attrs) {
        next.iovaLink(state, phys, offset, size, dir, attrs);
    }

    @Override
    public void iovaSync(IovaState state, long offset, long size) {
        next.iovaSync(state, offset, size);
    }

    @Override
    public void iovaUnlink(IovaState state, long offset, long size, DmaDirection dir, int attrs) {
        next.iovaUnlink(state, offset, size, dir, attrs);
    }

    @Override
    public void iovaDestroy(IovaState state, long mappedLen, DmaDirection dir, int attrs) {
        next.iovaDestroy(state, mappedLen, dir, attrs);
    }

    @Override
    public void iovaFree(IovaState state) {
        next.iovaFree(state);
    }

    @Override
    public boolean needUnmap() {
        return next.needUnmap();
    }

    @Override
    public boolean needSync(long dma) {
        return next.needSync(dma);
    }

    @Override
    public boolean addressingLimited() {
        return next.addressingLimited();
    }

    @Override
    public long maxMappingSize() {
        return next.maxMappingSize();
    }

    @Override
    public long optMappingSize() {
        return next.optMappingSize();
    }

    @Override
    public long mergeBoundary() {
        return next.mergeBoundary();
    }

    @Override
    public long getMask() {
        return next.getMask();
    }

    @Override
    public void setMask(long mask) {
        next.setMask(mask);
    }

    @Override
    public long getCoherentMask() {
        return next.getCoherentMask();
    }

    @Override
    public void setCoherentMask(long mask) {
        next.setCoherentMask(mask);
    }

    @Override
    public long requiredMask() {
        return next.requiredMask();
    }

    @Override
    public long maxSegmentSize() {
        return next.maxSegmentSize();
    }

    @Override
    public long segmentBoundary() {
        return next.segmentBoundary();
    }

    @Override
    public P2pMapType p2pMapType(P2pState state, long phys) {
        return next.p2pMapType(state, phys);
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + " -> " + next;
    }
}
