package com.example.fixedwindow;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.MisuseCheck;
import io.dma4j.api.DmaMappingException;
import io.dma4j.platform.Machine;
import io.dma4j.platform.device.DmaAccess;
import io.dma4j.platform.device.DmaTranslation;
import io.dma4j.platform.device.FaultReason;
import io.dma4j.platform.memory.PageAllocator;
import io.dma4j.spi.BackendContext;
import io.dma4j.spi.AbstractMappingBackend;

import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The fixed-window unit for one device: IOVAs {@code [WINDOW, WINDOW + 256 MiB)} map
 * through a table of 65536 entries ({@code phys | read | write | valid}); anything else,
 * or an empty entry, faults. Slots are allocated first fit under one lock; unmapping
 * clears the entries at once (the unit has no IOTLB to flush). No two-step support.
 *
 * <p>Thread safety: safe for concurrent use.
 */
final class FixedWindowBackend extends AbstractMappingBackend implements DmaTranslation {
    static final long WINDOW = 0x8000_0000L;
    static final int SLOTS = 65536;
    private static final long VALID = 1;
    private static final long READ = 2;
    private static final long WRITE = 4;

    private final Machine machine;
    private final AtomicLongArray table = new AtomicLongArray(SLOTS);
    private final BitSet used = new BitSet(SLOTS);

    FixedWindowBackend(BackendContext ctx) {
        super(ctx);
        this.machine = ctx.machine();
        ctx.attachTranslation(this);
    }

    // ---------------------------------------------------------------- the device side

    @Override
    public long translate(long bus, DmaAccess access) {
        long i = (bus - WINDOW) >>> 12;
        if (bus < WINDOW || i >= SLOTS) {
            return FaultReason.OUT_OF_RANGE.code();
        }
        long e = table.get((int) i);
        if ((e & VALID) == 0) {
            return FaultReason.NOT_MAPPED.code();
        }
        if ((e & (access == DmaAccess.READ ? READ : WRITE)) == 0) {
            return FaultReason.PERMISSION.code();
        }
        return (e & ~0xFFFL) | (bus & 0xFFF);
    }

    @Override
    public String describe() {
        return "fixed window 0x80000000+256MiB";
    }

    // ---------------------------------------------------------------- mapping

    @Override
    public long mapPhys(long phys, long size, DmaDirection dir, int attrs) {
        if (Long.compareUnsigned(WINDOW + (long) SLOTS * 4096 - 1, device.dmaMask()) > 0) {
            throw new DmaMappingException(device.name(), phys, size, "the window ends above the DMA mask");
        }
        long off = phys & 0xFFF;
        int n = (int) ((size + off + 0xFFF) >>> 12);
        int first;
        synchronized (used) {
            first = findFree(n);
            if (first < 0) {
                throw new DmaMappingException(device.name(), phys, size, "the fixed window is full");
            }
            used.set(first, first + n);
        }
        long perm = VALID | (dir.deviceReads() ? READ : 0) | (dir.deviceWrites() ? WRITE : 0);
        for (int i = 0; i < n; i++) {
            table.set(first + i, ((phys & ~0xFFFL) + ((long) i << 12)) | perm);
        }
        return WINDOW + ((long) first << 12) + off;
    }

    private int findFree(int n) {
        int start = used.nextClearBit(0);
        while (start + n <= SLOTS) {
            int busy = used.nextSetBit(start);
            if (busy < 0 || busy >= start + n) {
                return start;
            }
            start = used.nextClearBit(busy);
        }
        return -1;
    }

    /** @throws DmaApiMisuseException when the range is not in the window or was never mapped (nothing changes) */
    @Override
    public void unmapPhys(long dma, long size, DmaDirection dir, int attrs) {
        long slot = (dma - WINDOW) >>> 12;
        int n = (int) ((size + (dma & 0xFFF) + 0xFFF) >>> 12);
        if (dma < WINDOW || slot + n > SLOTS) {
            throw new DmaApiMisuseException(device.name(), MisuseCheck.IOMMU_UNMAP_NOT_MAPPED, String.format("unmap of 0x%x: outside the fixed window", dma));
        }
        int first = (int) slot;
        synchronized (used) {
            if (used.nextClearBit(first) < first + n) {
                throw new DmaApiMisuseException(device.name(), MisuseCheck.IOMMU_UNMAP_NOT_MAPPED, String.format("unmap of 0x%x (+%d): not mapped", dma, size));
            }
            for (int i = 0; i < n; i++) {
                table.set(first + i, 0);
            }
            used.clear(first, first + n);
        }
    }

    @Override
    public void syncForCpu(long dma, long size, DmaDirection dir) {
        // coherent and never bounces: nothing to do
    }

    @Override
    public void syncForDevice(long dma, long size, DmaDirection dir) {
        // coherent and never bounces: nothing to do
    }

    @Override
    public CoherentBuffer allocCoherent(long size, int attrs) {
        long phys = machine.pageAllocator().allocPages(PageAllocator.orderFor(size));
        long dma = mapPhys(phys, size, DmaDirection.BIDIRECTIONAL, attrs);
        return new CoherentBuffer(machine.addressSpace().view(phys, size), dma, phys, size);
    }

    @Override
    public void freeCoherent(long size, MemorySegment cpu, long dma) {
        long phys = translate(dma, DmaAccess.READ);
        unmapPhys(dma, size, DmaDirection.BIDIRECTIONAL, 0);
        machine.pageAllocator().freePages(phys);
    }

    // ---------------------------------------------------------------- queries

    @Override
    public String providerName() {
        return "fixed-window";
    }

    @Override
    public boolean needSync(long dma) {
        return false;
    }

    @Override
    public long maxMappingSize() {
        return (long) SLOTS * 4096;
    }

    @Override
    public long requiredMask() {
        return 0xFFFF_FFFFL;
    }

}
