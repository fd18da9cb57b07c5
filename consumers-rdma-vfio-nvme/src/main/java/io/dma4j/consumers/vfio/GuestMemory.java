package io.dma4j.consumers.vfio;

import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.platform.memory.PageAllocator;
import io.dma4j.platform.memory.PhysicalAddressSpace;

import java.lang.foreign.MemorySegment;

/**
 * A guest's RAM for a migration: one physically contiguous block, optionally DMA-mapped for a
 * VF (its guest IOVA range, as VFIO's type1 container maps guest memory). Not thread-safe.
 */
public final class GuestMemory implements AutoCloseable {
    private final PageAllocator allocator;
    private final PhysicalAddressSpace cpu;
    private final long phys;
    private final long size;
    private DmaMapper mapper;
    private long dma;

    private GuestMemory(PageAllocator allocator, PhysicalAddressSpace cpu, long phys, long size) {
        this.allocator = allocator;
        this.cpu = cpu;
        this.phys = phys;
        this.size = size;
    }

    /**
     * {@code size} bytes of zeroed guest memory.
     *
     * @throws IllegalArgumentException unless size is a power-of-two number of pages up to 4 MiB
     */
    public static GuestMemory allocate(PageAllocator allocator, PhysicalAddressSpace cpu, long size) {
        long max = PageAllocator.PAGE_SIZE << PageAllocator.MAX_ORDER;
        if (size < PageAllocator.PAGE_SIZE || size > max || Long.bitCount(size) != 1) {
            throw new IllegalArgumentException("guest memory: " + size + " bytes (expected: a power of two from 4KiB to " + (max >> 20) + "MiB)");
        }
        long p = allocator.allocPages(PageAllocator.orderFor(size));
        GuestMemory g = new GuestMemory(allocator, cpu, p, size);
        for (long off = 0; off < size; off += 8) {
            cpu.writeLong(p + off, 0);
        }
        return g;
    }

    /** Maps the memory for {@code m}'s device; returns the guest IOVA base. */
    public long mapFor(DmaMapper m) {
        if (mapper != null) {
            throw new IllegalStateException("guest memory is already mapped for " + mapper.device().name());
        }
        dma = m.mapPhys(phys, size, DmaDirection.BIDIRECTIONAL, 0);
        mapper = m;
        return dma;
    }

    /** Bytes. */
    public long size() {
        return size;
    }

    /** The guest IOVA base (valid once mapped). */
    public long dma() {
        return dma;
    }

    /** Copies page {@code index} of this memory to the same page of {@code to} (a RAM migration step). */
    public void copyPageTo(GuestMemory to, long index, MemorySegment scratch) {
        long off = index * PageAllocator.PAGE_SIZE;
        cpu.read(phys + off, scratch, 0, PageAllocator.PAGE_SIZE);
        to.cpu.write(to.phys + off, scratch, 0, PageAllocator.PAGE_SIZE);
    }

    /** The memory's bytes. */
    public byte[] bytes() {
        byte[] out = new byte[(int) size];
        cpu.read(phys, MemorySegment.ofArray(out), 0, size);
        return out;
    }

    /** Whether the bytes equal {@code other}'s. */
    public boolean contentEquals(GuestMemory other) {
        return size == other.size && java.util.Arrays.equals(bytes(), other.bytes());
    }

    /** Reads the long at {@code offset}. */
    public long readLong(long offset) {
        return cpu.readLong(phys + offset);
    }

    @Override
    public void close() {
        if (mapper != null) {
            mapper.unmapPhys(dma, size, DmaDirection.BIDIRECTIONAL, 0);
            mapper = null;
        }
        allocator.freePages(phys);
    }

}
