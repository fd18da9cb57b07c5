package io.dma4j.runtime;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.IovaState;
import io.dma4j.api.MisuseCheck;
import io.dma4j.api.P2pMapType;
import io.dma4j.api.P2pState;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.device.DeviceAttributes;
import io.dma4j.platform.memory.PageAllocator;

import java.lang.foreign.MemorySegment;

/**
 * The first layer of a device's chain: every argument is checked before anything below
 * sees it (sizes, wrap-around, directions, attribute bits, scatter-list counts, the
 * two-step calls' state and offsets, masks), so a refused call changes nothing. Argument
 * errors are {@link IllegalArgumentException}s; using a state that holds no IOVA, or a
 * range outside the reservation, is a {@link DmaApiMisuseException}; any call after the
 * runtime closed is an {@link IllegalStateException}.
 *
 * <p>Thread safety: stateless; as {@link DmaMapper}.
 */
final class ValidatingMapper extends ForwardingMapper {
    private static final long MAX_COHERENT = PageAllocator.PAGE_SIZE << PageAllocator.MAX_ORDER;

    private final String name;

    ValidatingMapper(DmaMapper next) {
        super(next);
        this.name = next.device().name();
    }

    /** From now on every call fails with {@link IllegalStateException} saying why ("closed", "released"). */
    void refuseFromNowOn(String why) {
        next = ClosedMapper.create(next.device(), why);
    }

    private void checkRange(String call, long address, long size) {
        checkSize(call, address, size);
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
            throw new DmaApiMisuseException(name, MisuseCheck.IOVA_NO_SPACE, call + " on a state that holds no IOVA space (iovaTryAlloc answered false, "
                    + "or the state was already destroyed or freed): map with mapPhys instead");
        }
    }

    private void checkWithin(String call, long stateSize, long offset, long size) {
        if (offset < 0 || size < 0 || offset > stateSize - size) {
            throw new DmaApiMisuseException(name, MisuseCheck.IOVA_OUT_OF_RANGE, String.format(
                    "%s [offset=0x%x] [size=0x%x] leaves the IOVA reservation [size=0x%x]", call, offset, size, stateSize));
        }
    }

    @Override
    public long mapPhys(long phys, long size, DmaDirection dir, int attrs) {
        checkRange("mapPhys", phys, size);
        checkDir("mapPhys", dir);
        checkAttrs("mapPhys", attrs);
        return next.mapPhys(phys, size, dir, attrs);
    }

    @Override
    public void unmapPhys(long dma, long size, DmaDirection dir, int attrs) {
        checkSize("unmapPhys", dma, size);
        checkDir("unmapPhys", dir);
        checkAttrs("unmapPhys", attrs);
        next.unmapPhys(dma, size, dir, attrs);
    }

    @Override
    public int mapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        checkList("mapSg", sg, nents, true);
        checkDir("mapSg", dir);
        checkAttrs("mapSg", attrs);
        return next.mapSg(sg, nents, dir, attrs);
    }

    @Override
    public void unmapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        checkList("unmapSg", sg, nents, false);
        checkDir("unmapSg", dir);
        checkAttrs("unmapSg", attrs);
        next.unmapSg(sg, nents, dir, attrs);
    }

    @Override
    public void syncForCpu(long dma, long size, DmaDirection dir) {
        checkSize("syncForCpu", dma, size);
        checkDir("syncForCpu", dir);
        next.syncForCpu(dma, size, dir);
    }

    @Override
    public void syncForDevice(long dma, long size, DmaDirection dir) {
        checkSize("syncForDevice", dma, size);
        checkDir("syncForDevice", dir);
        next.syncForDevice(dma, size, dir);
    }

    @Override
    public void syncSgForCpu(ScatterList sg, int nents, DmaDirection dir) {
        checkList("syncSgForCpu", sg, nents, false);
        checkDir("syncSgForCpu", dir);
        next.syncSgForCpu(sg, nents, dir);
    }

    @Override
    public void syncSgForDevice(ScatterList sg, int nents, DmaDirection dir) {
        checkList("syncSgForDevice", sg, nents, false);
        checkDir("syncSgForDevice", dir);
        next.syncSgForDevice(sg, nents, dir);
    }

    @Override
    public CoherentBuffer allocCoherent(long size, int attrs) {
        if (size <= 0 || size > MAX_COHERENT) {
            throw new IllegalArgumentException(String.format("%s: allocCoherent(size %d): expected 1..%d bytes (the page allocator's largest block)", name, size, MAX_COHERENT));
        }
        checkAttrs("allocCoherent", attrs);
        return next.allocCoherent(size, attrs);
    }

    @Override
    public void freeCoherent(long size, MemorySegment cpu, long dma) {
        checkSize("freeCoherent", dma, size);
        if (cpu == null) {
            throw new IllegalArgumentException(name + ": freeCoherent: cpu view is null");
        }
        next.freeCoherent(size, cpu, dma);
    }

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
        return next.iovaTryAlloc(state, phys, size);
    }

    @Override
    public void iovaLink(IovaState state, long phys, long offset, long size, DmaDirection dir, int attrs) {
        requireIova("iovaLink", state);
        checkRange("iovaLink", phys, size);
        checkWithin("iovaLink", state.size(), offset, size);
        checkDir("iovaLink", dir);
        checkAttrs("iovaLink", attrs);
        next.iovaLink(state, phys, offset, size, dir, attrs);
    }

    @Override
    public void iovaSync(IovaState state, long offset, long size) {
        requireIova("iovaSync", state);
        checkSize("iovaSync", offset, size);
        checkWithin("iovaSync", state.size(), offset, size);
        next.iovaSync(state, offset, size);
    }

    @Override
    public void iovaUnlink(IovaState state, long offset, long size, DmaDirection dir, int attrs) {
        requireIova("iovaUnlink", state);
        checkSize("iovaUnlink", offset, size);
        checkWithin("iovaUnlink", state.size(), offset, size);
        checkDir("iovaUnlink", dir);
        checkAttrs("iovaUnlink", attrs);
        next.iovaUnlink(state, offset, size, dir, attrs);
    }

    @Override
    public void iovaDestroy(IovaState state, long mappedLen, DmaDirection dir, int attrs) {
        requireIova("iovaDestroy", state);
        checkWithin("iovaDestroy", state.size(), 0, mappedLen);
        checkDir("iovaDestroy", dir);
        checkAttrs("iovaDestroy", attrs);
        next.iovaDestroy(state, mappedLen, dir, attrs);
    }

    @Override
    public void iovaFree(IovaState state) {
        requireIova("iovaFree", state);
        next.iovaFree(state);
    }

    @Override
    public void setMask(long mask) {
        next.setMask(checkMask("setMask", mask, device().attributes().dmaMask()));
    }

    @Override
    public void setCoherentMask(long mask) {
        next.setCoherentMask(checkMask("setCoherentMask", mask, device().attributes().coherentMask()));
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
    public P2pMapType p2pMapType(P2pState state, long phys) {
        if (state == null) {
            throw new IllegalArgumentException(name + ": p2pMapType: state is null");
        }
        return next.p2pMapType(state, phys);
    }
}
