package io.dma4j.consumers.dmabuf;

import io.dma4j.api.DmaMappingException;
import io.dma4j.api.DmaMapper;

/**
 * An iommufd-like importer: it pins the buffer (a revocable pin, as the 2026 rules ask of
 * pinned importers), maps its single range into its device's IOMMU domain and keeps it there
 * for the device to use; a revoke tears the mapping down at once, and the importer then stays
 * revoked (a later restore can be ignored, as the rules allow).
 *
 * <p>Thread safety: safe for concurrent use; state changes under the buffer's reservation lock.
 */
public final class IommufdImporter implements DmaBufImporter, AutoCloseable {
    private final String name;
    private final DmaBuf buf;
    private final DmaBufAttachment attachment;
    private final ImporterMapping mapping;
    private boolean revoked;

    /**
     * Imports {@code buf} for {@code device}: attach (peer memory allowed), pin, map.
     *
     * @throws RuntimeException whatever the exporter refused with (nothing is left attached)
     */
    public IommufdImporter(String name, DmaBuf buf, DmaMapper device) {
        this.name = name;
        this.buf = buf;
        this.attachment = buf.dynamicAttach(device, this);
        this.mapping = new ImporterMapping(attachment, System::nanoTime);
        mapping.pin();
        if (mapping.current() == null) {
            mapping.close();
            throw new DmaMappingException(device.device().name(), 0, buf.size(), "-ENODEV: " + buf.name() + " is revoked");
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public boolean allowPeer2peer() {
        return true;
    }

    @Override
    public boolean revocable() {
        return true;
    }

    /** A revoke (the attachment is pinned): unmap now, and stay revoked. */
    @Override
    public void invalidateMappings(DmaBufAttachment a) {
        mapping.drop();
        revoked = true;
    }

    /** The IOVA (or bus address) of the range, or -1 once revoked. */
    public long dmaAddress() {
        buf.resv().lock();
        try {
            return revoked ? -1 : mapping.current().dmaAddress(0);
        } finally {
            buf.resv().unlock();
        }
    }

    /** Whether a revoke took the mapping away. */
    public boolean revoked() {
        buf.resv().lock();
        try {
            return revoked;
        } finally {
            buf.resv().unlock();
        }
    }

    /** Unmaps, unpins and detaches. */
    @Override
    public void close() {
        mapping.close();
    }
}
