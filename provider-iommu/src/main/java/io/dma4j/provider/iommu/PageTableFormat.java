package io.dma4j.provider.iommu;

import java.util.Locale;

/**
 * An IOMMU page-table format: granule, bits resolved per level, input address size and
 * the page sizes a leaf may have.
 * <ul>
 * <li>{@link #X86_64}: 4-level, 48-bit, 4 KiB pages with 2 MiB and 1 GiB superpages;</li>
 * <li>{@link #ARM_LPAE_4K}: the same shape (4K/2M/1G);</li>
 * <li>{@link #ARM_LPAE_16K}: 16 KiB granule, 11 bits per level, 16 KiB and 32 MiB leaves;</li>
 * <li>{@link #ARM_LPAE_64K}: 64 KiB granule, 13 bits per level, 64 KiB and 512 MiB leaves.</li>
 * </ul>
 */
public enum PageTableFormat {
    X86_64(12, 9, 48, 12, 21, 30),
    ARM_LPAE_4K(12, 9, 48, 12, 21, 30),
    ARM_LPAE_16K(14, 11, 48, 14, 25),
    ARM_LPAE_64K(16, 13, 48, 16, 29);

    final int granuleShift;
    final int bitsPerLevel;
    final int iasBits;
    final int levels;
    private final long leafMask;

    PageTableFormat(int granuleShift, int bitsPerLevel, int iasBits, int... leafShifts) {
        this.granuleShift = granuleShift;
        this.bitsPerLevel = bitsPerLevel;
        this.iasBits = iasBits;
        this.levels = (iasBits - granuleShift + bitsPerLevel - 1) / bitsPerLevel;
        long m = 0;
        for (int s : leafShifts) {
            m |= 1L << s;
        }
        this.leafMask = m;
    }

    /** The granule (smallest page) in bytes. */
    public long granule() {
        return 1L << granuleShift;
    }

    /** The supported page sizes as a bit mask (the kernel's pgsize_bitmap). */
    public long pageSizes() {
        return leafMask;
    }

    /** The highest input address (the aperture end). */
    public long apertureEnd() {
        return (1L << iasBits) - 1;
    }

    /** log2 of the bytes one entry at {@code level} covers (level 0 is the top). */
    int shiftOf(int level) {
        return granuleShift + bitsPerLevel * (levels - 1 - level);
    }

    /** Entries in a table at {@code level}. */
    int entriesAt(int level) {
        int bits = level == 0 ? iasBits - shiftOf(0) : bitsPerLevel;
        return 1 << bits;
    }

    boolean leafAllowed(int shift) {
        return (leafMask & (1L << shift)) != 0;
    }

    /** The name used in configuration ("x86-64", "arm-lpae-16k"). */
    public String configName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The format of a configuration name. @throws IllegalArgumentException listing the names */
    public static PageTableFormat ofConfigName(String name) {
        for (PageTableFormat f : values()) {
            if (f.configName().equals(name)) {
                return f;
            }
        }
        throw new IllegalArgumentException("page-table format '" + name + "' (expected: x86-64, arm-lpae-4k, arm-lpae-16k or arm-lpae-64k)");
    }
}
