package io.dma4j.platform;

/**
 * An IOMMU hardware unit (VT-d DMAR unit, AMD-Vi, SMMU) that devices may sit behind.
 *
 * @param name        unique name ("dmar0")
 * @param translating whether its default domains translate (DMA domains); {@code false}
 *                    models identity/passthrough domains, where devices use dma-direct
 */
public record IommuUnit(String name, boolean translating) {
}
