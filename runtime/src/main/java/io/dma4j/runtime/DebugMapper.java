package io.dma4j.runtime;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.IovaState;
import io.dma4j.api.ScatterList;

import java.lang.foreign.MemorySegment;

/**
 * The DMA-debug layer of a device's chain ({@code CONFIG_DMA_API_DEBUG}): it checks each
 * call against the live mappings {@link DmaDebug} tracks, calls the layer below, and only
 * then records what the call created or forgets what it removed, so tracking follows what
 * really happened below.
 *
 * <p>The rule for the two modes, the same whatever the backend:
 * <ul>
 * <li><b>throw</b>: a violation found by a check throws {@link DmaApiMisuseException}
 *     before anything below is called (the call changes nothing); a misuse the backend
 *     finds is thrown on as it is.</li>
 * <li><b>report</b>: a violation found by a check is recorded and the call goes ahead, as
 *     the kernel's WARN lets it. In the calls that return nothing in the kernel and only
 *     warn there (unmap, sync, coherent free, the two-step unlink, destroy and free), a
 *     misuse the backend finds is also recorded instead of thrown, and the call returns;
 *     calls that create mappings still throw it, as the kernel returns an error.</li>
 * </ul>
 *
 * <p>Thread safety: as {@link DmaMapper}; the tracker serialises its own state.
 */
final class DebugMapper extends ForwardingMapper {
    private final DmaDebug debug;

    DebugMapper(DmaMapper next, DmaDebug debug) {
        super(next);
        this.debug = debug;
    }

    DmaDebug tracker() {
        return debug;
    }

    /** A misuse from below: thrown on in throw mode, recorded in report mode. */
    private void below(DmaApiMisuseException e) {
        if (debug.throwing()) {
            throw e;
        }
        debug.recordBelow(e);
    }

    @Override
    public long mapPhys(long phys, long size, DmaDirection dir, int attrs) {
        debug.checkMap(phys, size, dir, attrs, false);
        long dma = next.mapPhys(phys, size, dir, attrs);
        debug.addSingle(phys, size, dma, dir, attrs);
        return dma;
    }

    @Override
    public void unmapPhys(long dma, long size, DmaDirection dir, int attrs) {
        Object found = debug.checkUnmapSingle((attrs & DmaAttrs.MMIO) != 0 ? DmaDebug.Kind.RESOURCE : DmaDebug.Kind.SINGLE, dma, size, dir);
        try {
            next.unmapPhys(dma, size, dir, attrs);
        } catch (DmaApiMisuseException e) {
            below(e);
            return;
        }
        debug.forget(found);
    }

    @Override
    public int mapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        for (int i = 0; i < nents; i++) {
            debug.checkMap(sg.phys(i), sg.length(i), dir, attrs, true);
        }
        int count = next.mapSg(sg, nents, dir, attrs);
        try {
            debug.checkSgSegments(sg, count);
        } catch (DmaApiMisuseException e) {
            next.unmapSg(sg, nents, dir, attrs | DmaAttrs.SKIP_CPU_SYNC);
            throw e;
        }
        debug.addSg(sg, nents, count, dir, attrs);
        return count;
    }

    @Override
    public void unmapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        Object found = debug.checkUnmapSg(sg, nents, dir);
        try {
            next.unmapSg(sg, nents, dir, attrs);
        } catch (DmaApiMisuseException e) {
            below(e);
            return;
        }
        debug.forget(found);
    }

    @Override
    public void syncForCpu(long dma, long size, DmaDirection dir) {
        debug.checkSync(dma, size, dir, true);
        try {
            next.syncForCpu(dma, size, dir);
        } catch (DmaApiMisuseException e) {
            below(e);
        }
    }

    @Override
    public void syncForDevice(long dma, long size, DmaDirection dir) {
        debug.checkSync(dma, size, dir, false);
        try {
            next.syncForDevice(dma, size, dir);
        } catch (DmaApiMisuseException e) {
            below(e);
        }
    }

    @Override
    public void syncSgForCpu(ScatterList sg, int nents, DmaDirection dir) {
        debug.checkSyncSg(sg, nents, dir, true);
        try {
            next.syncSgForCpu(sg, nents, dir);
        } catch (DmaApiMisuseException e) {
            below(e);
        }
    }

    @Override
    public void syncSgForDevice(ScatterList sg, int nents, DmaDirection dir) {
        debug.checkSyncSg(sg, nents, dir, false);
        try {
            next.syncSgForDevice(sg, nents, dir);
        } catch (DmaApiMisuseException e) {
            below(e);
        }
    }

    @Override
    public CoherentBuffer allocCoherent(long size, int attrs) {
        CoherentBuffer b = next.allocCoherent(size, attrs);
        debug.addCoherent(b.phys(), b.size(), b.dmaAddress(), b.cpu());
        return b;
    }

    @Override
    public void freeCoherent(long size, MemorySegment cpu, long dma) {
        Object found = debug.checkFreeCoherent(dma, size, cpu);
        try {
            next.freeCoherent(size, cpu, dma);
        } catch (DmaApiMisuseException e) {
            below(e);
            return;
        }
        debug.forget(found);
    }

    @Override
    public boolean iovaTryAlloc(IovaState state, long phys, long size) {
        debug.beforeTryAlloc(state);
        boolean ok = next.iovaTryAlloc(state, phys, size);
        debug.afterTryAlloc(state, ok);
        return ok;
    }

    @Override
    public void iovaLink(IovaState state, long phys, long offset, long size, DmaDirection dir, int attrs) {
        debug.beforeLink(state, offset, size);
        next.iovaLink(state, phys, offset, size, dir, attrs);
        debug.afterLink(state, offset, size);
    }

    @Override
    public void iovaSync(IovaState state, long offset, long size) {
        debug.beforeSyncOrUnlink(state, offset, size, "iovaSync");
        try {
            next.iovaSync(state, offset, size);
        } catch (DmaApiMisuseException e) {
            below(e);
        }
    }

    @Override
    public void iovaUnlink(IovaState state, long offset, long size, DmaDirection dir, int attrs) {
        debug.beforeSyncOrUnlink(state, offset, size, "iovaUnlink");
        try {
            next.iovaUnlink(state, offset, size, dir, attrs);
        } catch (DmaApiMisuseException e) {
            below(e);
            return;
        }
        debug.afterUnlink(state, offset, size);
    }

    @Override
    public void iovaDestroy(IovaState state, long mappedLen, DmaDirection dir, int attrs) {
        debug.beforeDestroy(state, mappedLen);
        try {
            next.iovaDestroy(state, mappedLen, dir, attrs);
        } catch (DmaApiMisuseException e) {
            below(e);
            return;
        }
        debug.forgetState(state);
    }

    @Override
    public void iovaFree(IovaState state) {
        debug.beforeFree(state);
        try {
            next.iovaFree(state);
        } catch (DmaApiMisuseException e) {
            below(e);
            return;
        }
        debug.forgetState(state);
    }

    /** {@inheritDoc} Always true while DMA-debug is on, as with the kernel's CONFIG_DMA_API_DEBUG. */
    @Override
    public boolean needUnmap() {
        return true;
    }
}
