package io.dma4j.consumers.dmabuf;

import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMappingException;

import java.util.function.LongSupplier;

/**
 * A dynamic importer's mapping of a buffer, kept as movable importers keep it: mapped on
 * first use, dropped on an invalidate once the buffer's fences have retired (DMA in flight
 * finishes on the old mapping, as {@code ib_umem_dmabuf_unmap_pages} waits), mapped again on
 * the next use, and refused while the exporter has the buffer revoked.
 *
 * <p>Thread safety: state changes under the buffer's reservation lock (taken here; reentrant).
 */
public final class ImporterMapping {
    /** How long a drop waits for fences. */
    public static final long FENCE_TIMEOUT_NS = 1_000_000_000L;

    private final DmaBufAttachment attachment;
    private final LongSupplier clock;
    private DmaVec mapping;
    private long maps;
    private long iovaMaps;
    private int lastEntries;

    /** @param clock the clock the fence wait runs on */
    public ImporterMapping(DmaBufAttachment attachment, LongSupplier clock) {
        this.attachment = attachment;
        this.clock = clock;
    }

    /** The mapping to use now, mapping when there is none; {@code null} while the buffer is revoked ({@code -ENODEV}). */
    public DmaVec current() {
        DmaBuf buf = attachment.buffer();
        buf.resv().lock();
        try {
            if (mapping == null) {
                try {
                    mapping = buf.map(attachment, DmaDirection.BIDIRECTIONAL);
                    maps++;
                    iovaMaps += mapping.kind() == DmaVec.Kind.IOVA ? 1 : 0;
                    lastEntries = mapping.count();
                } catch (DmaMappingException e) {
                    return null;
                }
            }
            return mapping;
        } finally {
            buf.resv().unlock();
        }
    }

    /**
     * Pins the buffer for the attachment ({@code dma_buf_pin}); when the exporter refuses,
     * the attachment is released and the refusal thrown.
     */
    public void pin() {
        DmaBuf buf = attachment.buffer();
        buf.resv().lock();
        try {
            buf.pin(attachment);
        } catch (RuntimeException e) {
            buf.resv().unlock();
            close();
            throw e;
        }
        buf.resv().unlock();
    }

    /** From {@code invalidate_mappings} (reservation lock held): waits for the fences, then unmaps. */
    public void drop() {
        if (mapping != null) {
            attachment.buffer().resv().waitFences(FENCE_TIMEOUT_NS, clock);
            attachment.buffer().unmap(attachment, mapping, DmaDirection.BIDIRECTIONAL);
            mapping = null;
        }
    }

    /** Times the buffer was mapped (the first map and every re-map after a move). */
    public long maps() {
        return maps;
    }

    /** Maps that took IOVA space (one allocation each); bus-address maps take none. */
    public long iovaMaps() {
        return iovaMaps;
    }

    /** Bytes the last mapping's address list keeps: 16 per entry (address and length). */
    public long bookkeepingBytes() {
        return 16L * lastEntries;
    }

    /** Unmaps (when mapped) and detaches (which drops a pin). Idempotent. */
    public void close() {
        DmaBuf buf = attachment.buffer();
        buf.resv().lock();
        try {
            if (mapping != null) {
                buf.unmap(attachment, mapping, DmaDirection.BIDIRECTIONAL);
                mapping = null;
            }
        } finally {
            buf.resv().unlock();
        }
        if (buf.attachments().contains(attachment)) {
            buf.detach(attachment);
        }
    }
}
