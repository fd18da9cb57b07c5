/**
 * dma-iommu: IOVA allocation with per-thread range caches, multi-level page tables
 * (x86-64 and Arm LPAE formats), a finite IOTLB, strict or lazy (flush queue)
 * invalidation, and the two-step IOVA calls.
 */
module io.dma4j.provider.iommu {
    requires transitive io.dma4j.spi;
    requires jdk.jfr;

    // exports nothing: the backend is reached through the SPI only (the benchmarks use the
    // internals on the class path)

    provides io.dma4j.spi.DmaProvider with io.dma4j.provider.iommu.IommuProvider;
}
