package io.dma4j.runtime;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.DmaMappingException;
import io.dma4j.api.IovaState;
import io.dma4j.api.P2pMapType;
import io.dma4j.api.P2pState;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.device.DeviceAttributes;
import io.dma4j.platform.memory.PageAllocator;
import io.dma4j.spi.MappingBackend;

import java.lang.foreign.MemorySegment;

/**
 * The {@link DmaMapper} drivers get from the runtime for one device: it validates every
 * argument, runs the DMA-debug checks when enabled, dispatches to the device's
 * {@link MappingBackend} and counts into {@link DeviceStatistics} when enabled. Argument
 * problems are found before anything changes, so a refused call changes nothing.
 *
 * <p>Thread safety: as {@link DmaMapper}: safe for concurrent use on different mappings.
 */
public final class DeviceMapper implements DmaMapper {
    private static final long MAX_COHERENT = PageAllocator.PAGE_SIZE << PageAllocator.MAX_ORDER;

    private final Device device;
    private final String name;
    private final MappingBackend backend;
    private final DmaDebug debug;
    private final DeviceStatistics stats;

    DeviceMapper(Device device, MappingBackend backend, DmaDebug debug, DeviceStatistics stats) {
        this.device = device;
        this.name = device.name();
        this.backend = backend;
        this.debug = debug;
        this.stats = stats;
    }

    /** The backend this mapper dispatches to. */
    public MappingBackend backend() {
        return backend;
    }

    /** The statistics, or {@code null} when disabled. */
    public DeviceStatistics statistics() {
        return stats;
    }

    /** Whether DMA-debug checks are on for this device. */
    public boolean debugEnabled() {
        return debug != null;
    }

    /** Live mappings the debug checker tracks (0 with debug off). */
    public int liveMappings() {
        return debug == null ? 0 : debug.liveMappings();
    }

    /**
     * Releases the device: reports leaked mappings (the kernel's check when a driver is
     * unbound) and lets the backend detach.
     *
     * @throws DmaApiMisuseException in throwing debug mode when mappings are still live
     *                               (the backend is released all the same)
     */
    void release() {
        try {
            if (debug != null) {
                debug.checkLeaks();
            }
        } finally {
            backend.release();
        }
    }

    @Override
    public Device device() {
        return device;
    }

    // ---------------------------------------------------------------- validation

    private void checkRange(String call, long address, long size) {
        if (size <= 0) {
            throw new IllegalArgumentException(String.format("%s: %s(0x%x, size %d): size must be > 0", name, call, address, size));
        }
        if (Long.compareUnsigned(address + size - 1, address) < 0) {
            throw new IllegalArgumentException(String.format("%s: %s(0x%x, size 0x%x): the range wraps around the address space", name, call, address, size));
        }
    }

    private void checkSize(String call, long address, long size) {
        if (size <= 0) {
            throw new IllegalArgumentException(String.format("%s: %s(0x%x, size %d): size must be > 0", name, call, address, size));
        }
    }

    private void checkDir(String call, DmaDirection dir) {
        if (!DmaDirection.isValid(dir)) {
            throw new IllegalArgumentException(name + ": " + call + ": direction " + dir
                    + " is not valid for a mapping (expected BIDIRECTIONAL, TO_DEVICE or FROM_DEVICE)");
        }
    }

    private void checkAttrs(String call, int attrs) {
        if ((attrs & ~DmaAttrs.ALL) != 0) {
            throw new IllegalArgumentException(String.format("%s: %s: unknown attribute bits 0x%x (defined: 0x%x)", name, call, attrs & ~DmaAttrs.ALL, DmaAttrs.ALL));
        }
    }

    private void checkList(String call, ScatterList sg, int nents, boolean ranges) {
        if (sg == null) {
            throw new IllegalArgumentException(name + ": " + call + ": scatter list is null");
        }
        if (nents <= 0 || nents > sg.capacity()) {
            throw new IllegalArgumentException(name + ": " + call + ": nents " + nents + " (expected: 1.." + sg.capacity() + ", the list's capacity)");
        }
        if (ranges) {
            for (int i = 0; i < nents; i++) {
                long phys = sg.phys(i);
                long len = sg.length(i);
                if (len <= 0 || Long.compareUnsigned(phys + len - 1, phys) < 0) {
                    checkRange(call + " entry " + i, phys, len); // throws, naming the entry
                }
            }
        }
    }

    private void requireIova(String call, IovaState state) {
        if (state == null) {
            throw new IllegalArgumentException(name + ": " + call + ": state is null");
        }
        if (!state.useIova()) {
            throw new DmaApiMisuseException(name, "iova-no-space", call + " on a state that holds no IOVA space (iovaTryAlloc answered false, "
                    + "or the state was already destroyed or freed): map with mapPhys instead");
        }
    }

    private void checkWithin(String call, IovaState state, long offset, long size) {
        if (offset < 0 || size < 0 || offset > state.size() - size) {
            throw new DmaApiMisuseException(name, "iova-out-of-range", String.format(
                    "%s [offset=0x%x] [size=0x%x] leaves the IOVA reservation [size=0x%x]", call, offset, size, state.size()));
        }
    }

    // ---------------------------------------------------------------- classic

    @Override
    public long mapPhys(long phys, long size, DmaDirection dir, int attrs) {
        checkRange("mapPhys", phys, size);
        checkDir("mapPhys", dir);
        checkAttrs("mapPhys", attrs);
        if (debug != null) {
            debug.checkMap(phys, size, dir, attrs, false);
        }
        long dma;
        try {
            dma = backend.mapPhys(phys, size, dir, attrs);
        } catch (DmaMappingException e) {
            if (stats != null) {
                stats.mappingErrors.increment();
            }
            throw e;
        }
        if (debug != null) {
            debug.addSingle(phys, size, dma, dir, attrs);
        }
        if (stats != null) {
            stats.maps.increment();
            stats.mappedBytes.add(size);
            stats.addLive(size);
        }
        return dma;
    }

    @Override
    public void unmapPhys(long dma, long size, DmaDirection dir, int attrs) {
        checkSize("unmapPhys", dma, size);
        checkDir("unmapPhys", dir);
        checkAttrs("unmapPhys", attrs);
        if (debug != null) {
            debug.unmapSingle((attrs & DmaAttrs.MMIO) != 0 ? DmaDebug.Kind.RESOURCE : DmaDebug.Kind.SINGLE, dma, size, dir);
        }
        backend.unmapPhys(dma, size, dir, attrs);
        if (stats != null) {
            stats.unmaps.increment();
            stats.removeLive(size);
        }
    }

    @Override
    public int mapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        checkList("mapSg", sg, nents, true);
        checkDir("mapSg", dir);
        checkAttrs("mapSg", attrs);
        if (debug != null) {
            for (int i = 0; i < nents; i++) {
                debug.checkMap(sg.phys(i), sg.length(i), dir, attrs, true);
            }
        }
        int count;
        try {
            count = backend.mapSg(sg, nents, dir, attrs);
        } catch (DmaMappingException e) {
            if (stats != null) {
                stats.mappingErrors.increment();
            }
            throw e;
        }
        if (debug != null) {
            try {
                debug.checkSgSegments(sg, count);
            } catch (DmaApiMisuseException e) {
                backend.unmapSg(sg, nents, dir, attrs | DmaAttrs.SKIP_CPU_SYNC);
                throw e;
            }
            debug.addSg(sg, nents, count, dir, attrs);
        }
        if (stats != null) {
            long bytes = 0;
            for (int i = 0; i < nents; i++) {
                bytes += sg.length(i);
            }
            stats.sgMaps.increment();
            stats.sgSegments.add(count);
            stats.mappedBytes.add(bytes);
            stats.addLive(bytes);
        }
        return count;
    }

    @Override
    public void unmapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        checkList("unmapSg", sg, nents, false);
        checkDir("unmapSg", dir);
        checkAttrs("unmapSg", attrs);
        if (debug != null) {
            debug.unmapSg(sg, nents, dir);
        }
        backend.unmapSg(sg, nents, dir, attrs);
        if (stats != null) {
            long bytes = 0;
            for (int i = 0; i < nents; i++) {
                bytes += sg.length(i);
            }
            stats.unmaps.increment();
            stats.removeLive(bytes);
        }
    }

    @Override
    public void syncForCpu(long dma, long size, DmaDirection dir) {
        checkSize("syncForCpu", dma, size);
        checkDir("syncForCpu", dir);
        if (debug != null) {
            debug.checkSync(dma, size, dir, true);
        }
        backend.syncForCpu(dma, size, dir);
        if (stats != null) {
            stats.syncsForCpu.increment();
        }
    }

    @Override
    public void syncForDevice(long dma, long size, DmaDirection dir) {
        checkSize("syncForDevice", dma, size);
        checkDir("syncForDevice", dir);
        if (debug != null) {
            debug.checkSync(dma, size, dir, false);
        }
        backend.syncForDevice(dma, size, dir);
        if (stats != null) {
            stats.syncsForDevice.increment();
        }
    }

    @Override
    public void syncSgForCpu(ScatterList sg, int nents, DmaDirection dir) {
        checkList("syncSgForCpu", sg, nents, false);
        checkDir("syncSgForCpu", dir);
        if (debug != null) {
            debug.checkSyncSg(sg, nents, dir, true);
        }
        backend.syncSgForCpu(sg, nents, dir);
        if (stats != null) {
            stats.syncsForCpu.increment();
        }
    }

    @Override
    public void syncSgForDevice(ScatterList sg, int nents, DmaDirection dir) {
        checkList("syncSgForDevice", sg, nents, false);
        checkDir("syncSgForDevice", dir);
        if (debug != null) {
            debug.checkSyncSg(sg, nents, dir, false);
        }
        backend.syncSgForDevice(sg, nents, dir);
        if (stats != null) {
            stats.syncsForDevice.increment();
        }
    }

    // ---------------------------------------------------------------- coherent

    @Override
    public CoherentBuffer allocCoherent(long size, int attrs) {
        if (size <= 0 || size > MAX_COHERENT) {
            throw new IllegalArgumentException(String.format("%s: allocCoherent(size %d): expected 1..%d bytes (the page allocator's largest block)", name, size, MAX_COHERENT));
        }
        checkAttrs("allocCoherent", attrs);
        CoherentBuffer b;
        try {
            b = backend.allocCoherent(size, attrs);
        } catch (DmaMappingException e) {
            if (stats != null) {
                stats.mappingErrors.increment();
            }
            throw e;
        }
        if (debug != null) {
            debug.addCoherent(b.phys(), b.size(), b.dmaAddress(), b.cpu());
        }
        if (stats != null) {
            stats.coherentAllocs.increment();
            stats.addLive(size);
        }
        return b;
    }

    @Override
    public void freeCoherent(long size, MemorySegment cpu, long dma) {
        checkSize("freeCoherent", dma, size);
        if (cpu == null) {
            throw new IllegalArgumentException(name + ": freeCoherent: cpu view is null");
        }
        if (debug != null) {
            debug.freeCoherent(dma, size, cpu);
        }
        backend.freeCoherent(size, cpu, dma);
        if (stats != null) {
            stats.coherentFrees.increment();
            stats.removeLive(size);
        }
    }

    // ---------------------------------------------------------------- two-step

    /**
     * {@inheritDoc}
     *
     * <p>As in the kernel, a size of 0 or with bit 63 set is answered with {@code false}
     * (the kernel also warns once), not with an exception.
     */
    @Override
    public boolean iovaTryAlloc(IovaState state, long phys, long size) {
        if (state == null) {
            throw new IllegalArgumentException(name + ": iovaTryAlloc: state is null");
        }
        if (debug != null) {
            debug.beforeTryAlloc(state);
        }
        boolean ok;
        if (size <= 0) {
            state.clear();
            ok = false;
        } else {
            ok = backend.iovaTryAlloc(state, phys, size);
        }
        if (debug != null) {
            debug.afterTryAlloc(state, ok);
        }
        if (stats != null) {
            (ok ? stats.iovaAllocs : stats.iovaAllocFallbacks).increment();
        }
        return ok;
    }

    @Override
    public void iovaLink(IovaState state, long phys, long offset, long size, DmaDirection dir, int attrs) {
        requireIova("iovaLink", state);
        checkRange("iovaLink", phys, size);
        checkWithin("iovaLink", state, offset, size);
        checkDir("iovaLink", dir);
        checkAttrs("iovaLink", attrs);
        if (debug != null) {
            debug.beforeLink(state, offset, size);
        }
        try {
            backend.iovaLink(state, phys, offset, size, dir, attrs);
        } catch (DmaMappingException e) {
            if (stats != null) {
                stats.mappingErrors.increment();
            }
            throw e;
        }
        if (debug != null) {
            debug.afterLink(state, offset, size);
        }
        if (stats != null) {
            stats.iovaLinks.increment();
            stats.iovaLinkedBytes.add(size);
        }
    }

    @Override
    public void iovaSync(IovaState state, long offset, long size) {
        requireIova("iovaSync", state);
        checkSize("iovaSync", offset, size);
        checkWithin("iovaSync", state, offset, size);
        if (debug != null) {
            debug.beforeSyncOrUnlink(state, offset, size, "iovaSync");
        }
        backend.iovaSync(state, offset, size);
        if (stats != null) {
            stats.iovaSyncs.increment();
        }
    }

    @Override
    public void iovaUnlink(IovaState state, long offset, long size, DmaDirection dir, int attrs) {
        requireIova("iovaUnlink", state);
        checkSize("iovaUnlink", offset, size);
        checkWithin("iovaUnlink", state, offset, size);
        checkDir("iovaUnlink", dir);
        checkAttrs("iovaUnlink", attrs);
        if (debug != null) {
            debug.beforeSyncOrUnlink(state, offset, size, "iovaUnlink");
        }
        backend.iovaUnlink(state, offset, size, dir, attrs);
        if (debug != null) {
            debug.afterUnlink(state, offset, size);
        }
        if (stats != null) {
            stats.iovaUnlinks.increment();
        }
    }

    @Override
    public void iovaDestroy(IovaState state, long mappedLen, DmaDirection dir, int attrs) {
        requireIova("iovaDestroy", state);
        checkWithin("iovaDestroy", state, 0, mappedLen);
        checkDir("iovaDestroy", dir);
        checkAttrs("iovaDestroy", attrs);
        if (debug != null) {
            debug.beforeDestroy(state, mappedLen);
        }
        backend.iovaDestroy(state, mappedLen, dir, attrs);
        if (debug != null) {
            debug.forget(state);
        }
        state.clear();
        if (stats != null) {
            stats.iovaDestroys.increment();
        }
    }

    @Override
    public void iovaFree(IovaState state) {
        requireIova("iovaFree", state);
        if (debug != null) {
            debug.beforeFree(state);
        }
        backend.iovaFree(state);
        if (debug != null) {
            debug.forget(state);
        }
        state.clear();
        if (stats != null) {
            stats.iovaFrees.increment();
        }
    }

    // ---------------------------------------------------------------- queries

    /** {@inheritDoc} Always true while DMA-debug is on, as with the kernel's CONFIG_DMA_API_DEBUG. */
    @Override
    public boolean needUnmap() {
        return debug != null || backend.needUnmap();
    }

    @Override
    public boolean needSync(long dma) {
        return backend.needSync(dma);
    }

    @Override
    public long maxMappingSize() {
        return backend.maxMappingSize();
    }

    @Override
    public long optMappingSize() {
        return backend.optMappingSize();
    }

    @Override
    public long mergeBoundary() {
        return backend.mergeBoundary();
    }

    @Override
    public long getMask() {
        return backend.getMask();
    }

    @Override
    public void setMask(long mask) {
        backend.setMask(checkMask("setMask", mask, device.attributes().dmaMask()));
    }

    @Override
    public long getCoherentMask() {
        return backend.getCoherentMask();
    }

    @Override
    public void setCoherentMask(long mask) {
        backend.setCoherentMask(checkMask("setCoherentMask", mask, device.attributes().coherentMask()));
    }

    private long checkMask(String call, long mask, long hardware) {
        if (mask == 0 || !DeviceAttributes.isMask(mask)) {
            throw new IllegalArgumentException(String.format("%s: %s(0x%x): expected a mask of the form 2^n - 1", name, call, mask));
        }
        if (Long.compareUnsigned(mask, hardware) > 0) {
            throw new IllegalArgumentException(String.format("%s: %s(0x%x): the device drives only %d address bits (mask 0x%x)",
                    name, call, mask, 64 - Long.numberOfLeadingZeros(hardware), hardware));
        }
        return mask;
    }

    @Override
    public long requiredMask() {
        return backend.requiredMask();
    }

    @Override
    public long maxSegmentSize() {
        return backend.maxSegmentSize();
    }

    @Override
    public long segmentBoundary() {
        return backend.segmentBoundary();
    }

    @Override
    public P2pMapType p2pMapType(P2pState state, long phys) {
        if (state == null) {
            throw new IllegalArgumentException(name + ": p2pMapType: state is null");
        }
        return backend.p2pMapType(state, phys);
    }

    @Override
    public String toString() {
        return "DeviceMapper[" + name + " via " + backend.providerName() + (debug != null ? ", debug" : "") + "]";
    }
}
