package io.dma4j.runtime.testing;

import io.dma4j.platform.memory.PhysicalAddressSpace;

/** Test helpers for patterned memory. */
public final class Bytes {
    private Bytes() {
    }

    public static byte pattern(long seed, long i) {
        long x = (seed + i) * 0x9E3779B97F4A7C15L;
        return (byte) (x >>> 56);
    }

    public static void fill(PhysicalAddressSpace cpu, long phys, long len, long seed) {
        for (long i = 0; i < len; i++) {
            cpu.writeByte(phys + i, pattern(seed, i));
        }
    }

    /** The index of the first byte that differs from the pattern, or -1. */
    public static long mismatch(PhysicalAddressSpace cpu, long phys, long len, long seed) {
        for (long i = 0; i < len; i++) {
            if (cpu.readByte(phys + i) != pattern(seed, i)) {
                return i;
            }
        }
        return -1;
    }
}
