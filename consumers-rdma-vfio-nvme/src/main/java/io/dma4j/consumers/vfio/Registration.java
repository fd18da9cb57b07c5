package io.dma4j.consumers.vfio;

/** How migration data buffers are DMA-mapped for the device. */
public enum Registration {
    /**
     * Since v6.16: the buffer is an array of pages (8 B each); one {@code dma_iova_try_alloc}
     * for the whole buffer, each page linked at its offset, one {@code dma_iova_sync}; when
     * the IOVA path is not available, each page is mapped and the MTT is the unmap record.
     */
    TWO_STEP,
    /**
     * {@link #TWO_STEP}'s fallback taken on purpose: the buffer is still an array of pages, but
     * each page is mapped with its own {@code dma_map_phys} and the MTT is the unmap record,
     * as when {@code dma_iova_try_alloc} answers false. It is what the two-step path is
     * measured against (one IOVA allocation and one IOTLB flush per page instead of one per
     * buffer).
     */
    PER_PAGE,
    /**
     * Before v6.16: the pages become a scatter-gather table (one 32-byte entry per physically
     * contiguous run, worst case one per page) mapped with {@code dma_map_sgtable}.
     */
    CLASSIC
}
