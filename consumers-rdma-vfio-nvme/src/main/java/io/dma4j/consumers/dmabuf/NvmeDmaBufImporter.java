package io.dma4j.consumers.dmabuf;

import io.dma4j.consumers.nvme.NvmeDriver;

import java.util.function.LongSupplier;

/**
 * The NVMe driver as a dynamic dma-buf importer: reads and writes go straight between the
 * namespace and the buffer (peer memory as the data buffer), through the attachment's DMA
 * address list ({@link NvmeDriver#readMapped}, {@link NvmeDriver#writeMapped}). Each command
 * publishes a fence while it runs; an invalidate waits for the fences, then drops the mapping
 * (a move: the next command maps again; while the buffer is revoked, commands are refused).
 *
 * <p>Thread safety: one I/O thread (the driver's rule); invalidates may come from the exporter's thread.
 */
public final class NvmeDmaBufImporter implements DmaBufImporter, AutoCloseable {
    /** What {@link #read} and {@link #write} answer while the buffer is revoked. */
    public static final int REVOKED = -1;

    private final NvmeDriver nvme;
    private final DmaBuf buf;
    private final DmaBufAttachment attachment;
    private final ImporterMapping mapping;
    private final long[] dma = new long[NvmeDriver.MAX_SEGMENTS];
    private final long[] len = new long[NvmeDriver.MAX_SEGMENTS];
    private long invalidations;

    /** Attaches {@code buf} to the NVMe controller the driver runs. */
    public NvmeDmaBufImporter(NvmeDriver nvme, DmaBuf buf, io.dma4j.api.DmaMapper controller, LongSupplier clock) {
        this.nvme = nvme;
        this.buf = buf;
        this.attachment = buf.dynamicAttach(controller, this);
        this.mapping = new ImporterMapping(attachment, clock);
    }

    @Override
    public String name() {
        return "nvme:" + attachment.device().device().name();
    }

    @Override
    public boolean allowPeer2peer() {
        return true;
    }

    @Override
    public void invalidateMappings(DmaBufAttachment a) {
        invalidations++;
        mapping.drop(); // commands in flight finish on the old mapping first
    }

    /** Writes {@code length} bytes at {@code offset} in the buffer to the namespace at {@code lba}: the NVMe status, or {@link #REVOKED}. */
    public int write(long lba, long offset, long length) {
        return io(true, lba, offset, length);
    }

    /** Reads the namespace at {@code lba} into the buffer at {@code offset}: the NVMe status, or {@link #REVOKED}. */
    public int read(long lba, long offset, long length) {
        return io(false, lba, offset, length);
    }

    private int io(boolean write, long lba, long offset, long length) {
        DmaFence fence = new DmaFence(name());
        int n;
        buf.resv().lock();
        try {
            DmaVec v = mapping.current();
            if (v == null) {
                return REVOKED;
            }
            n = v.slice(offset, length, dma, len);
            buf.resv().addFence(fence);
        } finally {
            buf.resv().unlock();
        }
        try {
            return write ? nvme.writeMapped(lba, dma, len, n) : nvme.readMapped(lba, dma, len, n);
        } finally {
            fence.signal();
        }
    }

    /** The importer's mapping (for its figures). */
    public ImporterMapping mapping() {
        return mapping;
    }

    /** Times the buffer was mapped (the first map and every re-map after a move). */
    public long maps() {
        return mapping.maps();
    }

    /** Invalidates received. */
    public long invalidations() {
        return invalidations;
    }

    /** Unmaps and detaches. */
    @Override
    public void close() {
        mapping.close();
    }
}
