package io.dma4j.consumers.vfio;

import io.dma4j.api.DmaDirection;
import io.dma4j.hw.mlx5vf.Mlx5Vf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The saving side of a migration (the data fd VFIO returns on the arcs into PRE_COPY and
 * STOP_COPY): a stream of records, each a {@value MigrationStream#RECORD_HEADER}-byte header
 * (record size, flags, tag) and its payload — the device's images ({@link #TAG_FW_DATA}) and,
 * when tracking, an optional record announcing the stop-copy size.
 *
 * <p>Reads are a stream with no position argument: bytes come from the first queued buffer; a
 * buffer read to its end goes back to the available list, or, for a stop-copy chunk, back to
 * its slot, which starts a SAVE that was waiting for it. {@link #read} returns 0 for the
 * temporary end of data in PRE_COPY (the kernel's {@code -ENOMSG}: ask {@link #precopyInfo()}
 * and read again) and -1 at the end of the stream.
 *
 * <p>Stop-copy runs in chunk mode with two preallocated buffers
 * ({@code MAX_NUM_CHUNKS}) of {@code max(first chunk, min(8 MiB, full image))}: each SAVE
 * writes what fits and reports the next chunk's size; when both chunks wait to be read, the
 * next SAVE waits until one is.
 *
 * <p>Thread safety: calls are serialised on the migration's lock.
 */
public final class SaveStream extends MigrationStream {
    /** The largest stop-copy chunk the driver preallocates ({@code MAX_CHUNK_SIZE}, 8 MiB). */
    public static final long MAX_CHUNK_SIZE = 8L << 20;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The precopy figures ({@code struct vfio_precopy_info}). */
    public record PrecopyInfo(long initialBytes, long dirtyBytes) {
    }

    private enum Phase { PRECOPY, SAVING, COMPLETE, ERROR }

    private final boolean track;
    private final Deque<DataBuffer> queued = new ArrayDeque<>();
    private final DataBuffer[] chunks = new DataBuffer[2];
    private final boolean[] chunkQueued = new boolean[2];
    private final MemorySegment hdr = Arena.ofAuto().allocate(RECORD_HEADER + 8);
    private Phase phase;
    private long maxPos;
    private long readPos;
    private long initialEnd;
    private long deferred;
    private int deferredFlags;
    private long chunkSize;
    private long stopCopySize;
    private long saves;
    private long stopCopyBytes;
    private long precopyBytes;

    SaveStream(Mlx5VfDriver core, Object lock, boolean track) {
        super(core, lock);
        this.track = track;
        this.phase = track ? Phase.PRECOPY : Phase.SAVING;
        prepStopCopy();
    }

    /** {@code mlx5vf_prep_stop_copy}: the two chunk buffers, and the announced size when tracking. */
    private void prepStopCopy() {
        long first = core.command(Mlx5Vf.CMD_QUERY_VHCA_MIGRATION_STATE, 0, MAX_CHUNK_SIZE, 0, 0, Mlx5Vf.FLAG_CHUNK, "QUERY_VHCA_MIGRATION_STATE");
        long full = core.lastOut1();
        chunkSize = Math.min(Math.max(first, Math.min(MAX_CHUNK_SIZE, full)), core.capability(Mlx5Vf.REG_CAP_MAX_SAVE));
        stopCopySize = full;
        try {
            for (int c = 0; c < 2; c++) {
                chunks[c] = core.allocDataBuffer(pagesFor(chunkSize), DmaDirection.FROM_DEVICE);
                chunks[c].chunk = c;
            }
        } catch (RuntimeException e) {
            release();
            throw e;
        }
        if (track) { // mlx5vf_add_stop_copy_header
            hdr.set(LONG, RECORD_HEADER, full);
            queueHeader(8, FLAG_OPTIONAL, TAG_STOP_COPY_SIZE);
        }
    }

    /** RUNNING → PRE_COPY: the initial image, tracking from now on. */
    void startPrecopy() {
        long size = core.command(Mlx5Vf.CMD_QUERY_VHCA_MIGRATION_STATE, 0, 0, 0, 0, 0, "QUERY_VHCA_MIGRATION_STATE");
        save(getDataBuffer(pagesFor(size), DmaDirection.FROM_DEVICE), Mlx5Vf.FLAG_TRACK);
        initialEnd = maxPos;
    }

    /** The stop-copy save: the whole image, or (after precopy) what changed since; chunked. */
    void stopCopy(boolean incremental) {
        phase = Phase.SAVING;
        saveChunk(0, chunkSize, Mlx5Vf.FLAG_CHUNK | (incremental ? Mlx5Vf.FLAG_INCREMENTAL : 0));
    }

    /** The "cleanup" save on PRE_COPY → RUNNING: a full image without tracking, which ends tracking, then dropped. */
    void cleanup() {
        long size = core.command(Mlx5Vf.CMD_QUERY_VHCA_MIGRATION_STATE, 0, 0, 0, 0, 0, "QUERY_VHCA_MIGRATION_STATE");
        DataBuffer b = getDataBuffer(pagesFor(size), DmaDirection.FROM_DEVICE);
        try {
            int token = core.submitAsync(Mlx5Vf.CMD_SAVE_VHCA_STATE, b.mkey, b.capacity(), 0, "SAVE_VHCA_STATE");
            core.awaitEvent(token, "SAVE_VHCA_STATE");
        } finally {
            putDataBuffer(b);
        }
    }

    private void saveChunk(int c, long required, int flags) {
        DataBuffer b = chunks[c];
        if (b.capacity() < required) { // the device asks for more than the slot holds
            core.freeDataBuffer(b);
            chunks[c] = null;
            b = core.allocDataBuffer(pagesFor(required), DmaDirection.FROM_DEVICE);
            b.chunk = c;
            chunks[c] = b;
        }
        chunkQueued[c] = true;
        long next = save(b, flags);
        if (next == 0) {
            phase = Phase.COMPLETE;
            return;
        }
        int other = 1 - c;
        if (!chunkQueued[other]) {
            saveChunk(other, next, flags);
        } else {
            deferred = next; // both chunks wait for the reader
            deferredFlags = flags;
        }
    }

    /** SAVE_VHCA_STATE into {@code b} and its completion ({@code mlx5vf_save_callback}); returns the next chunk's size. */
    private long save(DataBuffer b, int flags) {
        int token = core.submitAsync(Mlx5Vf.CMD_SAVE_VHCA_STATE, b.mkey, b.capacity(), flags, "SAVE_VHCA_STATE");
        Mlx5VfDriver.Event e = core.awaitEvent(token, "SAVE_VHCA_STATE");
        if (e.status() != Mlx5Vf.ST_OK) {
            if (b.chunk >= 0) {
                chunkQueued[b.chunk] = false;
            } else {
                putDataBuffer(b);
            }
            phase = Phase.ERROR;
            throw new VfioMigrationException("EIO", String.format("%s: SAVE_VHCA_STATE failed with device status %d (%s)", core.name(), e.status(),
                    Mlx5VfDriver.statusName(e.status())));
        }
        long actual = e.out0();
        queueHeader(0, 0, TAG_FW_DATA, actual);
        b.startPos = maxPos;
        b.length = actual;
        maxPos += actual;
        queued.addLast(b);
        saves++;
        if (phase == Phase.PRECOPY) {
            precopyBytes += actual + RECORD_HEADER;
        } else {
            stopCopyBytes += actual + RECORD_HEADER;
        }
        return e.out1();
    }

    private void queueHeader(int payload, int flags, int tag) {
        queueHeader(payload, flags, tag, payload);
    }

    /** A header record in a CPU-only buffer; {@code payload} bytes of {@link #hdr} after the header go with it. */
    private void queueHeader(int payload, int flags, int tag, long recordSize) {
        hdr.set(LONG, 0, recordSize);
        hdr.set(INT, 8, flags);
        hdr.set(INT, 12, tag);
        DataBuffer h = getDataBuffer(1, null);
        core.write(h, 0, hdr, 0, RECORD_HEADER + payload);
        h.startPos = maxPos;
        h.length = RECORD_HEADER + payload;
        maxPos += h.length;
        queued.addLast(h);
    }

    /**
     * Reads up to {@code len} bytes of the stream into {@code dst} at {@code offset}.
     *
     * @return the bytes read; 0 for the temporary end of data in PRE_COPY; -1 at the end
     * @throws VfioMigrationException {@code EIO} after a failed save, {@code EINVAL} when closed
     */
    public long read(MemorySegment dst, long offset, long len) {
        synchronized (lock) {
            if (closed) {
                throw new VfioMigrationException("EINVAL", core.name() + ": the saving stream is closed");
            }
            if (phase == Phase.ERROR) {
                throw new VfioMigrationException("EIO", core.name() + ": the saving stream failed");
            }
            long done = 0;
            while (done < len && !queued.isEmpty()) {
                DataBuffer b = queued.peekFirst();
                long n = Math.min(len - done, b.startPos + b.length - readPos);
                core.read(b, readPos - b.startPos, dst, offset + done, n);
                readPos += n;
                done += n;
                if (readPos == b.startPos + b.length) {
                    queued.removeFirst();
                    consumed(b);
                }
            }
            if (done > 0) {
                return done;
            }
            return phase == Phase.COMPLETE ? -1 : 0;
        }
    }

    private void consumed(DataBuffer b) {
        if (b.chunk < 0) {
            putDataBuffer(b);
            return;
        }
        int c = b.chunk;
        chunkQueued[c] = false;
        if (deferred > 0) { // a SAVE waited for this slot
            long next = deferred;
            deferred = 0;
            saveChunk(c, next, deferredFlags);
        }
    }

    /**
     * {@code VFIO_MIG_GET_PRECOPY_INFO}: the initial bytes not yet read, until the initial image
     * is read; afterwards the dirty bytes (unread plus the device's new incremental size). When
     * everything queued was read and the device has new dirty state, another incremental SAVE
     * is queued.
     *
     * @throws VfioMigrationException {@code EINVAL} outside PRE_COPY
     */
    public PrecopyInfo precopyInfo() {
        synchronized (lock) {
            if (phase != Phase.PRECOPY || closed) {
                throw new VfioMigrationException("EINVAL", core.name() + ": precopy information exists only in PRE_COPY and PRE_COPY_P2P");
            }
            if (readPos < initialEnd) {
                return new PrecopyInfo(initialEnd - readPos, 0);
            }
            long unread = maxPos - readPos;
            long inc = core.command(Mlx5Vf.CMD_QUERY_VHCA_MIGRATION_STATE, 0, 0, 0, 0, Mlx5Vf.FLAG_INCREMENTAL, "QUERY_VHCA_MIGRATION_STATE");
            if (unread == 0 && inc > 0) {
                save(getDataBuffer(pagesFor(inc), DmaDirection.FROM_DEVICE), Mlx5Vf.FLAG_INCREMENTAL | Mlx5Vf.FLAG_TRACK);
            }
            return new PrecopyInfo(0, unread + inc);
        }
    }

    /** Bytes the stream has produced so far. */
    public long produced() {
        synchronized (lock) {
            return maxPos;
        }
    }

    /** SAVEs completed. */
    public long saves() {
        synchronized (lock) {
            return saves;
        }
    }

    /** Stream bytes (records with their headers) of images saved during precopy. */
    public long precopyBytes() {
        synchronized (lock) {
            return precopyBytes;
        }
    }

    /** Stream bytes of images saved during stop-copy (the downtime proxy). */
    public long stopCopyBytes() {
        synchronized (lock) {
            return stopCopyBytes;
        }
    }

    /** The stop-copy size announced when the stream was created. */
    public long announcedStopCopySize() {
        return stopCopySize;
    }

    /** The size of each stop-copy chunk buffer. */
    public long chunkSize() {
        return chunkSize;
    }

    @Override
    void release() {
        closed = true;
        for (DataBuffer b : queued) {
            if (b.chunk < 0) {
                core.freeDataBuffer(b);
            }
        }
        queued.clear();
        for (int c = 0; c < 2; c++) {
            if (chunks[c] != null) {
                core.freeDataBuffer(chunks[c]);
                chunks[c] = null;
            }
        }
        super.release();
    }
}
