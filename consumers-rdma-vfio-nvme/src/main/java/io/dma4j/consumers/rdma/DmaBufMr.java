package io.dma4j.consumers.rdma;

import io.dma4j.api.DmaMappingException;
import io.dma4j.consumers.dmabuf.DmaBuf;
import io.dma4j.consumers.dmabuf.DmaBufAttachment;
import io.dma4j.consumers.dmabuf.DmaBufImporter;
import io.dma4j.consumers.dmabuf.DmaVec;
import io.dma4j.consumers.dmabuf.ImporterMapping;
import io.dma4j.hw.rnic.Rnic;

import java.util.function.LongSupplier;

/**
 * An RDMA memory region over a dma-buf, as mlx5's dynamic dma-buf MR
 * ({@code mlx5_ib_reg_user_mr_dmabuf}): the key's address space is the buffer's offsets; the
 * first request faults and the whole buffer is mapped and written to the key's table
 * ({@code pagefault_dmabuf_mr}); an invalidate zaps the table before it drops the mapping
 * ({@code mlx5_ib_dmabuf_invalidate_cb}), so the next request faults and maps again, or
 * completes in error while the exporter has the buffer revoked. The pinned variant
 * ({@code ib_umem_dmabuf_get_pinned}) pins at registration and is not revocable.
 *
 * <p>Thread safety: faults (the I/O thread) and invalidates (the exporter's thread) are ordered
 * by the buffer's reservation lock.
 */
public final class DmaBufMr implements MemoryRegion, DmaBufImporter, AutoCloseable {
    private final RnicDriver driver;
    private final int lkey;
    private final DmaBuf buf;
    private final boolean writable;
    private final DmaBufAttachment attachment;
    private final ImporterMapping mapping;
    private final int pages;
    private final long[] staged = new long[Rnic.XLT_MAX_ENTRIES];
    private final long[] dma = new long[1];
    private final long[] len = new long[1];
    private boolean present;
    private long invalidations;
    private boolean closed;

    DmaBufMr(RnicDriver driver, int lkey, DmaBuf buf, boolean writable, boolean pinned, LongSupplier clock) {
        if (buf.size() % Rnic.PAGE != 0) {
            throw new IllegalArgumentException(buf.name() + ": " + buf.size() + " bytes is not a whole number of " + Rnic.PAGE + "-byte pages");
        }
        this.driver = driver;
        this.lkey = lkey;
        this.buf = buf;
        this.writable = writable;
        this.pages = (int) (buf.size() / Rnic.PAGE);
        this.attachment = buf.dynamicAttach(driver.mapper(), this);
        this.mapping = new ImporterMapping(attachment, clock);
        if (pinned) {
            mapping.pin();
        }
    }

    @Override
    public String name() {
        return "rdma:" + driver.mapper().device().name() + " key " + lkey;
    }

    @Override
    public boolean allowPeer2peer() {
        return true;
    }

    @Override
    public int lkey() {
        return lkey;
    }

    @Override
    public long start() {
        return 0;
    }

    @Override
    public long length() {
        return buf.size();
    }

    /** Zap the NIC's entries, then drop the mapping (reservation lock held). */
    @Override
    public void invalidateMappings(DmaBufAttachment a) {
        invalidations++;
        if (present) {
            driver.zap(lkey, 0, pages);
            present = false;
        }
        mapping.drop();
    }

    /** Maps the whole buffer and writes every entry, when the table is empty. */
    @Override
    public int prefetch(long va, long length, boolean write) {
        buf.resv().lock();
        try {
            if (closed) {
                throw new IllegalStateException(name() + " is closed");
            }
            DmaVec v = mapping.current();
            if (v == null) {
                throw new DmaMappingException(driver.mapper().device().name(), 0, buf.size(), "-ENODEV: " + buf.name() + " is revoked");
            }
            if (!present) {
                for (int done = 0; done < pages; ) {
                    int n = Math.min(Rnic.XLT_MAX_ENTRIES, pages - done);
                    for (int j = 0; j < n; j++) {
                        v.slice((long) (done + j) * Rnic.PAGE, Rnic.PAGE, dma, len);
                        staged[j] = dma[0] | Rnic.MTT_READ | (writable ? Rnic.MTT_WRITE : 0);
                    }
                    driver.updateXlt(lkey, done, staged, n);
                    done += n;
                }
                present = true;
            }
            return pages;
        } finally {
            buf.resv().unlock();
        }
    }

    /** The region's mapping of the buffer (for its figures). */
    public ImporterMapping mapping() {
        return mapping;
    }

    /** Times the buffer was mapped (the first fault and every fault after a move). */
    public long maps() {
        return mapping.maps();
    }

    /** Invalidates received. */
    public long invalidations() {
        return invalidations;
    }

    /** Drops the attachment after a failed registration. */
    void detach() {
        mapping.close();
    }

    /** Destroys the key, then unmaps and detaches. */
    @Override
    public void close() {
        buf.resv().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
        } finally {
            buf.resv().unlock();
        }
        driver.destroyMr(this);
        mapping.close();
    }
}
