package io.dma4j.provider.iommu;

import java.util.Locale;

/**
 * An IOMMU page-table format: granule, bits resolved per level, input address size and
 * the page sizes a leaf may have.
 * <ul>
 * <li>{@link #X86_64}: 4-level, 48-bit, 4 KiB pages with 2 MiB and 1 GiB superpages;</li>
 * <li>{@link #ARM_LPAE_4K}: the same shape (4K/2M/1G);</li>
 * <li>{@link #ARM_LPAE_16K}: 16 KiB granule, 11 bits per level, 16 KiB and 32 MiB leaves;</li>
 * <li>{@link #ARM_LPAE_64K}: 64 KiB granule, 13 bits per level, 64 KiB and 512 MiB leaves;</li>
 * <li>input address sizes other than 48 bits: {@link #X86_64_5LEVEL} (57), {@link #ARM_LPAE_4K_39},
 *     {@link #ARM_LPAE_16K_36}, {@link #ARM_LPAE_64K_42}.</li>
 * </ul>
 */
public enum PageTableFormat {
    X86_64(true, 12, 9, 48, 12, 21, 30),
    /** x86-64 with five levels: 57-bit input addresses (Intel LA57, VT-d 5-level tables). */
    X86_64_5LEVEL(true, 12, 9, 57, 12, 21, 30),
    ARM_LPAE_4K(false, 12, 9, 48, 12, 21, 30),
    /** Arm LPAE 4 KiB with a 39-bit input address size: three levels (a combination the io-pgtable-arm self-test walks). */
    ARM_LPAE_4K_39(false, 12, 9, 39, 12, 21, 30),
    ARM_LPAE_16K(false, 14, 11, 48, 14, 25),
    /** Arm LPAE 16 KiB with a 36-bit input address size: three levels. */
    ARM_LPAE_16K_36(false, 14, 11, 36, 14, 25),
    ARM_LPAE_64K(false, 16, 13, 48, 16, 29),
    /** Arm LPAE 64 KiB with a 42-bit input address size: two levels. */
    ARM_LPAE_64K_42(false, 16, 13, 42, 16, 29);

    /**
     * Whether the kernel implements the format with the generic page-table library
     * ({@code drivers/iommu/generic_pt}, the x86-64 first stage) rather than io-pgtable-arm:
     * the two differ in how unmap treats large pages and tables (see {@link PageTable#unmap}).
     */
    final boolean genericPt;
    final int granuleShift;
    final int bitsPerLevel;
    final int iasBits;
    final int levels;
    private final long leafMask;

    PageTableFormat(boolean genericPt, int granuleShift, int bitsPerLevel, int iasBits, int... leafShifts) {
        this.genericPt = genericPt;
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

    /** Whether this is an x86 (VT-d) format, whose domains reserve the hardware MSI window. */
    public boolean x86() {
        return this == X86_64 || this == X86_64_5LEVEL;
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
        StringBuilder names = new StringBuilder();
        for (PageTableFormat f : values()) {
            names.append(names.isEmpty() ? "" : ", ").append(f.configName());
        }
        throw new IllegalArgumentException("page-table format '" + name + "' (expected: " + names + ")");
    }
}
