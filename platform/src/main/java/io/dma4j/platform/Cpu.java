package io.dma4j.platform;

import java.util.Locale;

/**
 * The machine's CPU as the kernel's P2PDMA code asks about it ({@code cpu_supports_p2pdma}
 * reads the vendor and the family of CPU 0).
 *
 * @param vendor lower-case vendor name ("amd", "intel"), or "unknown"
 * @param family the CPU family number (x86 {@code c->x86}), 0 when unknown
 */
public record Cpu(String vendor, int family) {
    /** What a description that names no CPU gets. */
    public static final Cpu UNKNOWN = new Cpu("unknown", 0);

    public Cpu {
        vendor = vendor.toLowerCase(Locale.ROOT);
        if (family < 0) {
            throw new IllegalArgumentException("CPU family " + family + " (expected: >= 0)");
        }
    }

    @Override
    public String toString() {
        return vendor + " family 0x" + Integer.toHexString(family);
    }
}
