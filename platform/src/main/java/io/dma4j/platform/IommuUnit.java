package io.dma4j.platform;

import java.util.List;

/**
 * An IOMMU hardware unit (VT-d DMAR unit, AMD-Vi, SMMU) that devices may sit behind.
 *
 * @param name            unique name ("dmar0")
 * @param translating     whether its default domains translate (DMA domains); {@code false}
 *                        models identity/passthrough domains, where devices use dma-direct
 * @param reservedRegions the regions the unit's driver or firmware declares for its devices
 *                        ({@code iommu_get_resv_regions}) beyond the page-table format's own
 *                        (x86's MSI window): an Arm SMMU's software MSI window, firmware
 *                        reserved ranges
 */
public record IommuUnit(String name, boolean translating, List<ReservedRegion> reservedRegions) {
    public IommuUnit {
        reservedRegions = List.copyOf(reservedRegions);
    }

    /** A unit that declares no regions of its own. */
    public IommuUnit(String name, boolean translating) {
        this(name, translating, List.of());
    }
}
