package io.dma4j.consumers.dmabuf;

/**
 * A dynamic importer ({@code struct dma_buf_attach_ops}).
 *
 * <p>Since 2026 ({@code invalidate_mappings}, was {@code move_notify}) an invalidate on an
 * unpinned attachment is a <em>move</em>: drop the mapping and map again (a failing map means
 * "revoked for now"); on a pinned, revocable attachment it is a <em>revoke</em>: stop all access
 * at once. Either way the importer must unmap, and signal any fences it published; an importer
 * whose DMA may be in flight waits for the buffer's fences before it unmaps
 * ({@link DmaResv#waitFences}, as RDMA's {@code ib_umem_dmabuf_unmap_pages} does), or the
 * device would meet a mapping that is gone.
 */
public interface DmaBufImporter {
    /** A name for warnings. */
    String name();

    /** Whether the importer handles memory without struct pages ({@code allow_peer2peer}). */
    boolean allowPeer2peer();

    /** Whether the importer honours a revoke on a pinned attachment ({@code dma_buf_attach_revocable}). */
    default boolean revocable() {
        return false;
    }

    /** The exporter moved or revoked the buffer; called with the reservation lock held. */
    void invalidateMappings(DmaBufAttachment attachment);
}
