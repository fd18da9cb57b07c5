package io.dma4j.platform.memory;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The machine's physical address space as the CPU sees it: DRAM ranges and PCI BARs at
 * their CPU physical addresses. Every access is routed to the one {@link Region} that
 * holds it; an access that no region holds, or that straddles two regions, is refused
 * with {@link IllegalArgumentException} (a CPU bus error in a real machine).
 *
 * <p>Thread safety: the region list is fixed at construction; accesses may come from any
 * thread (see {@link SparseMemory} and the register handlers for their own rules).
 */
public final class PhysicalAddressSpace {
    private final Region[] regions;
    private final long[] bases;

    /**
     * @param regions the regions; they must not overlap
     * @throws IllegalArgumentException naming the two regions that overlap
     */
    public PhysicalAddressSpace(List<Region> regions) {
        Region[] sorted = regions.toArray(Region[]::new);
        Arrays.sort(sorted, Comparator.comparingLong(Region::base));
        for (int i = 1; i < sorted.length; i++) {
            if (sorted[i].base() < sorted[i - 1].end()) {
                throw new IllegalArgumentException("regions overlap: " + sorted[i - 1] + " and " + sorted[i]);
            }
        }
        this.regions = sorted;
        this.bases = new long[sorted.length];
        for (int i = 0; i < sorted.length; i++) {
            bases[i] = sorted[i].base();
        }
    }

    /** All regions in address order. */
    public List<Region> regions() {
        return List.of(regions);
    }

    /** The DRAM regions in address order. */
    public List<Region> dram() {
        List<Region> out = new ArrayList<>();
        for (Region r : regions) {
            if (r.kind() == Region.Kind.DRAM) {
                out.add(r);
            }
        }
        return out;
    }

    /** The region holding {@code phys}, or {@code null}. Allocation-free. */
    public Region regionAt(long phys) {
        int lo = 0;
        int hi = bases.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (bases[mid] <= phys) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        if (hi < 0) {
            return null;
        }
        Region r = regions[hi];
        return phys < r.end() ? r : null;
    }

    /** The region holding all of {@code [phys, phys+len)}, or {@code null}. */
    public Region regionFor(long phys, long len) {
        Region r = regionAt(phys);
        return r != null && r.contains(phys, len) ? r : null;
    }

    /** Whether {@code [phys, phys+len)} lies inside one DRAM region. */
    public boolean isDram(long phys, long len) {
        Region r = regionFor(phys, len);
        return r != null && r.kind() == Region.Kind.DRAM;
    }

    /** Whether {@code [phys, phys+len)} lies inside one memory region (DRAM or memory BAR). */
    public boolean isMemory(long phys, long len) {
        Region r = regionFor(phys, len);
        return r != null && r.isMemory();
    }

    /** Total DRAM bytes described. */
    public long dramSize() {
        long total = 0;
        for (Region r : regions) {
            if (r.kind() == Region.Kind.DRAM) {
                total += r.size();
            }
        }
        return total;
    }

    /** Chunks of backing memory allocated so far, over all memory regions. */
    public long touchedChunks() {
        long total = 0;
        for (Region r : regions) {
            if (r.memory() != null) {
                total += r.memory().touchedChunks();
            }
        }
        return total;
    }

    /** CPU copy from memory at {@code phys} into {@code dst}. */
    public void read(long phys, MemorySegment dst, long dstOffset, long len) {
        Region r = memory(phys, len);
        r.memory().read(phys - r.base(), dst, dstOffset, len);
    }

    /** CPU copy from {@code src} into memory at {@code phys}. */
    public void write(long phys, MemorySegment src, long srcOffset, long len) {
        Region r = memory(phys, len);
        r.memory().write(phys - r.base(), src, srcOffset, len);
    }

    /** CPU memset of memory at {@code phys}. */
    public void fill(long phys, long len, byte value) {
        Region r = memory(phys, len);
        r.memory().fill(phys - r.base(), len, value);
    }

    /** CPU memmove between two memory ranges (which may be in different regions). Allocation-free. */
    public void copy(long fromPhys, long toPhys, long len) {
        Region from = memory(fromPhys, len);
        Region to = memory(toPhys, len);
        SparseMemory.copy(from.memory(), fromPhys - from.base(), to.memory(), toPhys - to.base(), len);
    }

    /**
     * A live CPU view of memory at {@code phys} (the kernel's virtual address of a page).
     *
     * @throws IllegalArgumentException if the range is not memory or crosses a 4 MiB chunk
     */
    public MemorySegment view(long phys, long len) {
        Region r = memory(phys, len);
        return r.memory().view(phys - r.base(), len);
    }

    /** CPU 64-bit load: memory, or a register read for register BARs. */
    public long readLong(long phys) {
        Region r = any(phys, 8);
        return r.handler() != null ? r.handler().readRegister(phys - r.base(), 8) : r.memory().getLong(phys - r.base());
    }

    /** CPU 64-bit store: memory, or a register write (doorbell) for register BARs. */
    public void writeLong(long phys, long value) {
        Region r = any(phys, 8);
        if (r.handler() != null) {
            r.handler().writeRegister(phys - r.base(), 8, value);
        } else {
            r.memory().putLong(phys - r.base(), value);
        }
    }

    /** CPU 32-bit load: memory, or a register read for register BARs. */
    public int readInt(long phys) {
        Region r = any(phys, 4);
        return r.handler() != null ? (int) r.handler().readRegister(phys - r.base(), 4) : r.memory().getInt(phys - r.base());
    }

    /** CPU 32-bit store: memory, or a register write (doorbell) for register BARs. */
    public void writeInt(long phys, int value) {
        Region r = any(phys, 4);
        if (r.handler() != null) {
            r.handler().writeRegister(phys - r.base(), 4, value & 0xFFFF_FFFFL);
        } else {
            r.memory().putInt(phys - r.base(), value);
        }
    }

    /** CPU byte load from memory. */
    public byte readByte(long phys) {
        Region r = memory(phys, 1);
        return r.memory().getByte(phys - r.base());
    }

    /** CPU byte store to memory. */
    public void writeByte(long phys, byte value) {
        Region r = memory(phys, 1);
        r.memory().putByte(phys - r.base(), value);
    }

    private Region any(long phys, long len) {
        Region r = regionFor(phys, len);
        if (r == null) {
            throw new IllegalArgumentException(String.format("CPU access to 0x%x (+0x%x): no memory or device there", phys, len));
        }
        return r;
    }

    private Region memory(long phys, long len) {
        Region r = any(phys, len);
        if (r.memory() == null) {
            throw new IllegalArgumentException(String.format("CPU bulk access to 0x%x (+0x%x): %s is a register block; use readLong/writeLong", phys, len, r.name()));
        }
        return r;
    }
}
