package io.dma4j.platform.memory;

import java.util.Objects;

/**
 * One contiguous range of the physical address space: DRAM, a memory BAR (for example an
 * NVMe controller memory buffer) or a register BAR.
 *
 * <p>Memory regions are backed by {@link SparseMemory}; register regions by a
 * {@link RegisterHandler}. Thread safety: immutable; the backing store states its own.
 *
 * @param name    a name for messages and listings ("dram0", "nvme0.bar2")
 * @param kind    what the range is
 * @param base    first physical address
 * @param size    size in bytes
 * @param memory  backing store for memory kinds, {@code null} for registers
 * @param handler register behaviour for {@link Kind#REGISTERS}, {@code null} otherwise
 */
public record Region(String name, Kind kind, long base, long size, SparseMemory memory, RegisterHandler handler) {
    /** What a region is. */
    public enum Kind {
        /** System RAM: what the page allocator hands out. */
        DRAM,
        /** A BAR that behaves as plain memory (CMB, peer-to-peer memory). */
        BAR_MEMORY,
        /** A BAR of device registers (doorbells): accesses go to a handler. */
        REGISTERS
    }

    public Region {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        if (size <= 0 || base < 0 || base + size < base) {
            throw new IllegalArgumentException(name + ": base 0x" + Long.toHexString(base) + " size 0x" + Long.toHexString(size)
                    + " (expected: a non-empty range that does not wrap)");
        }
        if ((kind == Kind.REGISTERS) != (handler != null) || (kind != Kind.REGISTERS) != (memory != null)) {
            throw new IllegalArgumentException(name + ": a " + kind + " region needs " + (kind == Kind.REGISTERS ? "a handler" : "a memory"));
        }
    }

    /** One past the last address. */
    public long end() {
        return base + size;
    }

    /** Whether {@code [phys, phys+len)} lies inside this region. */
    public boolean contains(long phys, long len) {
        return phys >= base && len >= 0 && phys - base <= size - len;
    }

    /** Whether the region is memory (DRAM or a memory BAR) rather than registers. */
    public boolean isMemory() {
        return kind != Kind.REGISTERS;
    }

    @Override
    public String toString() {
        return String.format("%s %s [0x%x-0x%x)", name, kind, base, end());
    }
}
