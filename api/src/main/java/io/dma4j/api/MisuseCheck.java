package io.dma4j.api;

/**
 * Every rule of the DMA API that dma4j detects, in one catalogue: the checks of the kernel's
 * DMA-debug facility ({@code CONFIG_DMA_API_DEBUG}, {@code kernel/dma/debug.c}) that apply
 * to the model, with the kernel's wording; checks of the two-step calls, which the kernel's
 * facility does not track; and the misuse that the runtime's argument checks and the
 * backends find whatever the debug setting ({@code dma_iova_link}'s {@code -EIO}, an
 * IOMMU unmap of nothing, a bounce-buffer overrun). {@link DmaApiMisuseException#check()}
 * and the runtime's debug reports name one of these; providers throw with them too.
 *
 * <p>Checks the kernel has that do not apply: "failed to check map error" (mapping errors
 * are exceptions here), and mapping memory from the stack, kernel text or vmalloc space
 * (the model has no such memory).
 */
public enum MisuseCheck {
    // ---- the kernel's DMA-debug checks (reported when DMA-debug is on)
    UNMAP_NEVER_MAPPED("unmap-never-mapped", "device driver tries to free DMA memory it has not allocated"),
    UNMAP_INVALID_ADDRESS("unmap-invalid-address", "device driver tries to free an invalid DMA memory address"),
    UNMAP_SIZE("unmap-size", "device driver frees DMA memory with different size"),
    UNMAP_WRONG_FUNCTION("unmap-wrong-function", "device driver frees DMA memory with wrong function"),
    FREE_CPU_ADDRESS("free-cpu-address", "device driver frees DMA memory with different CPU address"),
    UNMAP_SG_NENTS("unmap-sg-nents", "device driver frees DMA sg list with different entry count"),
    UNMAP_DIRECTION("unmap-direction", "device driver frees DMA memory with different direction"),
    SYNC_NEVER_MAPPED("sync-never-mapped", "device driver tries to sync DMA memory it has not allocated"),
    SYNC_OUTSIDE("sync-outside", "device driver syncs DMA memory outside allocated range"),
    SYNC_DIRECTION("sync-direction", "device driver syncs DMA memory with different direction"),
    SYNC_READ_ONLY_FOR_CPU("sync-read-only-for-cpu", "device driver syncs device read-only DMA memory for cpu"),
    SYNC_WRITE_ONLY_TO_DEVICE("sync-write-only-to-device", "device driver syncs device write-only DMA memory to device"),
    SYNC_SG_NENTS("sync-sg-nents", "device driver syncs DMA sg list with different entry count"),
    MAP_INVALID_AREA("map-invalid-area", "device driver maps memory from invalid area"),
    SG_SEGMENT_TOO_LONG("sg-segment-too-long", "mapping sg segment longer than device claims to support"),
    SG_SEGMENT_ACROSS_BOUNDARY("sg-segment-across-boundary", "mapping sg segment across boundary"),
    CACHELINE_OVERLAP("cacheline-overlap", "cacheline tracking EEXIST, overlapping mappings aren't supported"),
    LEAK_AT_RELEASE("leak-at-release", "device driver has pending DMA allocations while released from device"),
    MMIO_ON_RAM("mmio-on-ram", "dma_map_resource called for RAM address"),
    // ---- two-step checks of the DMA-debug layer (dma4j only)
    IOVA_STATE_IN_USE("iova-state-in-use", "device driver reuses an IOVA state that still holds IOVA space"),
    IOVA_UNKNOWN_STATE("iova-unknown-state", "device driver uses an IOVA state this device did not allocate"),
    IOVA_LINK_OVERLAP("iova-link-overlap", "device driver links an IOVA range that is already linked"),
    IOVA_NOT_LINKED("iova-not-linked", "device driver syncs or unlinks an IOVA range that is not linked"),
    IOVA_FREE_WITH_LINKS("iova-free-with-links", "device driver frees IOVA space with ranges still linked"),
    IOVA_DESTROY_LENGTH("iova-destroy-length", "device driver destroys IOVA state with a length that is not the linked range"),

    // ---- always checked (argument checks of the runtime, its guard on IOVA states, and the backends)
    IOVA_CONCURRENT_USE("iova-concurrent-use", "device driver links or unlinks on an IOVA state that another thread destroys"),
    IOVA_NO_SPACE("iova-no-space", "device driver uses an IOVA state that holds no IOVA space"),
    IOVA_OUT_OF_RANGE("iova-out-of-range", "device driver uses a range outside its IOVA reservation"),
    IOVA_WITHOUT_IOMMU("iova-without-iommu", "device driver uses the two-step calls on a backend without IOVA space"),
    IOVA_LINK_MID_GRANULE("iova-link-mid-granule", "device driver links a range starting mid-granule at a non-zero offset (-EIO)"),
    IOVA_LINK_MISALIGNED("iova-link-misaligned", "device driver links a range whose granule offset differs from its IOVA's"),
    FREE_COHERENT_NEVER_ALLOCATED("free-coherent-never-allocated", "device driver tries to free DMA memory it has not allocated"),
    IOMMU_UNMAP_NOT_MAPPED("iommu-unmap-not-mapped", "device driver unmaps an IOVA range with nothing mapped"),
    IOMMU_UNMAP_SIZE("iommu-unmap-size", "device driver unmaps an IOVA range of another size than was mapped"),
    /** The kernel's {@code free_iova} ignores such a free silently; the model reports it. */
    IOVA_FREE_UNKNOWN("iova-free-unknown", "device driver frees IOVA space the domain's allocator does not hold"),
    SWIOTLB_OVERRUN("swiotlb-overrun", "device driver syncs or unmaps beyond the end of a bounce buffer"),
    SWIOTLB_NOT_MAPPED("swiotlb-not-mapped", "device driver syncs or unmaps a bounce buffer that is not mapped"),
    /** A dma-buf call that needs the buffer's reservation lock made without it ({@code dma_resv_assert_held}). */
    DMABUF_RESV_NOT_HELD("dmabuf-resv-not-held", "dma-buf call without the reservation lock held"),
    /** A dma-buf mapping unmapped twice, or through another attachment than the one that mapped it. */
    DMABUF_BAD_UNMAP("dmabuf-bad-unmap", "dma-buf unmap of a mapping the attachment does not hold");

    private final String id;
    private final String text;

    MisuseCheck(String id, String text) {
        this.id = id;
        this.text = text;
    }

    /** A stable identifier, for logs and configuration ("unmap-never-mapped"). */
    public String id() {
        return id;
    }

    /** The report's wording (the kernel's where the kernel has the check). */
    public String text() {
        return text;
    }
}
