package io.dma4j.consumers.dmabuf;

import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMappingException;
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
    private final LongSupplier clock;
    private final long[] dma = new long[NvmeDriver.MAX_SEGMENTS];
    private final long[] len = new long[NvmeDriver.MAX_SEGMENTS];
    private DmaVec mapping;
    private long maps;
    private long invalidations;

    /** Attaches {@code buf} to the NVMe controller the driver runs. */
    public NvmeDmaBufImporter(NvmeDriver nvme, DmaBuf buf, io.dma4j.api.DmaMapper controller, LongSupplier clock) {
        this.nvme = nvme;
        this.buf = buf;
        this.clock = clock;
        this.attachment = buf.dynamicAttach(controller, this);
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
        if (mapping != null) {
            buf.resv().waitFences(1_000_000_000L, clock); // commands in flight finish on the old mapping
            buf.unmap(a, mapping, DmaDirection.BIDIRECTIONAL);
            mapping = null;
        }
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
            if (mapping == null) {
                try {
                    mapping = buf.map(attachment, DmaDirection.BIDIRECTIONAL);
                    maps++;
                } catch (DmaMappingException e) {
                    return REVOKED;
                }
            }
            n = mapping.slice(offset, length, dma, len);
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

    /** Times the buffer was mapped (the first map and every re-map after a move). */
    public long maps() {
        return maps;
    }

    /** Invalidates received. */
    public long invalidations() {
        return invalidations;
    }

    /** Unmaps and detaches. */
    @Override
    public void close() {
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
