package io.dma4j.spi;

/** The parts of the DMA layer a provider can fill. */
public enum DmaRole {
    /** Maps for devices: the kernel's {@code dma_map_ops} (dma-direct, dma-iommu, a vendor's). */
    MAPPING_BACKEND,
    /** Bounce buffers for addresses a device cannot reach directly (swiotlb). */
    BOUNCE_SERVICE,
    /** Peer-to-peer distance and map-type classification (p2pdma). */
    P2P_CLASSIFIER
}
