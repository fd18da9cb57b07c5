package io.dma4j.consumers.dmabuf;

import io.dma4j.api.DmaMapper;

import java.util.ArrayList;
import java.util.List;

/**
 * One device's attachment to a buffer ({@code struct dma_buf_attachment}).
 *
 * <p>Thread safety: its state changes under the buffer's reservation lock.
 */
public final class DmaBufAttachment {
    private final DmaBuf buf;
    private final DmaMapper device;
    private final DmaBufImporter importer;
    private final boolean peer2peer;
    boolean pinned;
    DmaVec cached; // static/dynamic mismatch: mapped once at attach
    final List<DmaVec> live = new ArrayList<>();
    boolean detached;

    DmaBufAttachment(DmaBuf buf, DmaMapper device, DmaBufImporter importer) {
        this.buf = buf;
        this.device = device;
        this.importer = importer;
        this.peer2peer = importer != null && importer.allowPeer2peer();
    }

    /** The buffer. */
    public DmaBuf buffer() {
        return buf;
    }

    /** The importer's device (its DMA mapper). */
    public DmaMapper device() {
        return device;
    }

    /** The dynamic importer, or {@code null} for a static attachment. */
    public DmaBufImporter importer() {
        return importer;
    }

    /** Whether it is dynamic ({@code dma_buf_attachment_is_dynamic}). */
    public boolean dynamic() {
        return importer != null;
    }

    /** {@code attach->peer2peer}: the importer takes memory without struct pages. */
    public boolean peer2peer() {
        return peer2peer;
    }

    /** Whether the attachment holds a pin. */
    public boolean pinned() {
        buf.resv().lock();
        try {
            return pinned;
        } finally {
            buf.resv().unlock();
        }
    }

    /** Whether the core mapped the buffer once at attach time (exactly one side dynamic). */
    public boolean cachedMapping() {
        return cached != null;
    }

    /** Mappings the importer holds now (the cached one included). */
    public int liveMappings() {
        buf.resv().lock();
        try {
            return live.size();
        } finally {
            buf.resv().unlock();
        }
    }

    /** The importer's name, or the device's for a static attachment. */
    public String name() {
        return importer != null ? importer.name() : device.device().name();
    }

    @Override
    public String toString() {
        return name() + " on " + buf.name();
    }
}
