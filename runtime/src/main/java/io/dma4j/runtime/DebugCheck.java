package io.dma4j.runtime;

/**
 * The checks of the DMA-debug facility ({@code CONFIG_DMA_API_DEBUG}, kernel/dma/debug.c)
 * that apply to the model, with the kernel's wording, plus checks for the two-step calls,
 * which the kernel's facility does not track. Checks the kernel has that do not apply:
 * "failed to check map error" (mapping errors are exceptions here), and mapping memory
 * from the stack, kernel text or vmalloc space (the model has no such memory).
 */
public enum DebugCheck {
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
    IOVA_STATE_IN_USE("iova-state-in-use", "device driver reuses an IOVA state that still holds IOVA space"),
    IOVA_UNKNOWN_STATE("iova-unknown-state", "device driver uses an IOVA state this device did not allocate"),
    IOVA_LINK_OVERLAP("iova-link-overlap", "device driver links an IOVA range that is already linked"),
    IOVA_NOT_LINKED("iova-not-linked", "device driver syncs or unlinks an IOVA range that is not linked"),
    IOVA_FREE_WITH_LINKS("iova-free-with-links", "device driver frees IOVA space with ranges still linked"),
    IOVA_DESTROY_LENGTH("iova-destroy-length", "device driver destroys IOVA state with a length that is not the linked range");

    private final String id;
    private final String text;

    DebugCheck(String id, String text) {
        this.id = id;
        this.text = text;
    }

    /** A stable identifier ({@link io.dma4j.api.DmaApiMisuseException#check()}). */
    public String id() {
        return id;
    }

    /** The report's wording (the kernel's where the kernel has the check). */
    public String text() {
        return text;
    }
}
