package io.dma4j.consumers.dmabuf;

import io.dma4j.api.DmaDirection;

/**
 * What an exporter supplies ({@code struct dma_buf_ops}). The core calls {@link #map},
 * {@link #unmap}, {@link #pin} and {@link #unpin} with the buffer's reservation lock held.
 */
public interface DmaBufExporter {
    /** Whether the exporter can pin ({@code pin}/{@code unpin} ops present: a "dynamic" exporter, whose memory may move). */
    boolean dynamic();

    /** Accepts or refuses ({@code attach} op) a new attachment; refuse by throwing. */
    default void attach(DmaBuf buf, DmaBufAttachment attachment) {
    }

    /** The attachment is going away. */
    default void detach(DmaBuf buf, DmaBufAttachment attachment) {
    }

    /** Keeps the memory in place for the attachment ({@code pin}); refuse by throwing. */
    default void pin(DmaBufAttachment attachment) {
        throw new UnsupportedOperationException("-EOPNOTSUPP: this exporter cannot pin");
    }

    /** Undoes {@link #pin}. */
    default void unpin(DmaBufAttachment attachment) {
    }

    /** Maps the buffer for the attachment's device ({@code map_dma_buf}). */
    DmaVec map(DmaBufAttachment attachment, DmaDirection dir);

    /** Undoes {@link #map} ({@code unmap_dma_buf}). */
    void unmap(DmaBufAttachment attachment, DmaVec mapping, DmaDirection dir);

    /** The last reference to the buffer is gone ({@code release}). */
    default void release(DmaBuf buf) {
    }
}
