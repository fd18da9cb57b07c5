package io.dma4j.platform;

import java.util.Locale;

/**
 * A range of I/O virtual addresses an IOMMU unit or the PCI fabric declares off limits to
 * DMA mappings ({@code struct iommu_resv_region}, plus the host-bridge windows that
 * {@code iova_reserve_pci_windows} adds). Addresses are bus addresses, inclusive at both ends.
 *
 * @param start first reserved address
 * @param end   last reserved address ({@code >= start})
 * @param type  what the range is
 */
public record ReservedRegion(long start, long end, Type type) {
    /** The kinds of reserved region, after {@code enum iommu_resv_type}. */
    public enum Type {
        /** A hardware MSI doorbell window ({@code IOMMU_RESV_MSI}, x86's 0xFEE00000 range): never mapped. */
        MSI,
        /**
         * A software-managed MSI window ({@code IOMMU_RESV_SW_MSI}, Arm SMMU's 0x8000000 range).
         * A DMA domain does <em>not</em> reserve it: {@code iova_reserve_iommu_regions} skips it
         * ("We ARE the software that manages these!") and dma-iommu allocates MSI doorbell pages
         * from the ordinary IOVA space.
         */
        SW_MSI,
        /** A range the firmware says must never be used ({@code IOMMU_RESV_RESERVED}). */
        RESERVED,
        /** A host bridge's memory window ({@code iova_reserve_pci_windows}): an IOVA there would alias peer MMIO. */
        PCI_WINDOW;

        /** The name in machine descriptions and listings ({@code "sw-msi"}). */
        public String jsonName() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    public ReservedRegion {
        if (start < 0 || end < start) {
            throw new IllegalArgumentException(String.format("reserved region [0x%x, 0x%x] (expected: 0 <= start <= end)", start, end));
        }
    }

    /** Whether a DMA domain keeps the range out of its IOVA space (every type but {@link Type#SW_MSI}). */
    public boolean reservedInDmaDomain() {
        return type != Type.SW_MSI;
    }

    /** Whether {@code address} lies in the range. */
    public boolean contains(long address) {
        return address >= start && address <= end;
    }

    @Override
    public String toString() {
        return String.format("[0x%x-0x%x] %s", start, end, type.jsonName());
    }
}
