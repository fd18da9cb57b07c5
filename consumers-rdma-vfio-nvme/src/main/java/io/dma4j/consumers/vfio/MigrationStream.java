package io.dma4j.consumers.vfio;

import io.dma4j.api.DmaDirection;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;

/**
 * What the saving and resuming streams share ({@code struct mlx5_vf_migration_file}): the
 * driver core and the list of buffers available for reuse, by direction.
 */
public abstract sealed class MigrationStream permits SaveStream, ResumeStream {
    /** Stream record header size: record_size (u64), flags (u32), tag (u32), little-endian. */
    public static final int RECORD_HEADER = 16;
    /** Record tag: the device's image. */
    public static final int TAG_FW_DATA = 0;
    /** Record tag: the announced stop-copy size (an 8-byte payload). */
    public static final int TAG_STOP_COPY_SIZE = 1;
    /** Record flag: a reader that does not know the tag may skip the record. */
    public static final int FLAG_OPTIONAL = 1;

    final Mlx5VfDriver core;
    final Object lock;
    private final List<DataBuffer> avail = new ArrayList<>();
    private long reused;
    boolean closed;

    MigrationStream(Mlx5VfDriver core, Object lock) {
        this.core = core;
        this.lock = lock;
    }

    /**
     * {@code mlx5vf_get_data_buffer}: a buffer of at least {@code npages} pages for
     * {@code dir} (null: CPU-only) from the available list, freeing the smaller ones of that
     * direction on the way; a new buffer when none fits.
     */
    DataBuffer getDataBuffer(int npages, DmaDirection dir) {
        DataBuffer found = null;
        List<DataBuffer> smaller = new ArrayList<>();
        for (Iterator<DataBuffer> it = avail.iterator(); it.hasNext();) {
            DataBuffer b = it.next();
            if (!Objects.equals(b.dir, dir)) {
                continue;
            }
            it.remove();
            if (b.npages() >= npages) {
                found = b;
                break;
            }
            smaller.add(b);
        }
        for (DataBuffer b : smaller) {
            core.freeDataBuffer(b);
        }
        if (found != null) {
            reused++;
            found.length = 0;
            found.chunk = -1;
            return found;
        }
        return core.allocDataBuffer(npages, dir);
    }

    /** {@code mlx5vf_put_data_buffer}: back to the available list. */
    void putDataBuffer(DataBuffer b) {
        b.chunk = -1;
        avail.add(b);
    }

    /** Buffers on the available list now. */
    public int availableBuffers() {
        synchronized (lock) {
            return avail.size();
        }
    }

    /** Buffers handed out again from the available list. */
    public long reusedBuffers() {
        synchronized (lock) {
            return reused;
        }
    }

    /** Frees every buffer the stream holds. */
    void release() {
        closed = true;
        for (DataBuffer b : avail) {
            core.freeDataBuffer(b);
        }
        avail.clear();
    }

    static int pagesFor(long bytes) {
        long n = (bytes + Mlx5VfDriver.PAGE - 1) / Mlx5VfDriver.PAGE;
        if (n > Integer.MAX_VALUE) {
            throw new VfioMigrationException("ENOMEM", bytes + " bytes is more than one buffer holds");
        }
        return (int) Math.max(1, n);
    }
}
