package io.dma4j.consumers.vfio;

import io.dma4j.api.DmaDirection;
import io.dma4j.hw.mlx5vf.Mlx5Vf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The resuming side of a migration (the data fd VFIO returns on STOP → RESUMING): a parser of
 * the saving stream's records ({@code mlx5vf_resume_write}). States: READ_HEADER →
 * (FW_DATA) PREP_IMAGE → READ_IMAGE → LOAD_IMAGE → READ_HEADER, or (STOP_COPY_SIZE, or an
 * unknown optional tag) PREP_HEADER_DATA → READ_HEADER_DATA → READ_HEADER. An unknown
 * mandatory tag is refused with {@code EOPNOTSUPP}, a record larger than
 * {@link #MAX_LOAD_SIZE} with {@code ENOMEM}, an image the device refuses with {@code EIO};
 * after a refusal the stream accepts nothing more. The image buffer grows to
 * {@code max(record size, announced stop-copy size)} and is DMA-mapped (to the device) when
 * the first image is loaded.
 *
 * <p>Thread safety: calls are serialised on the migration's lock.
 */
public final class ResumeStream extends MigrationStream {
    /** The largest record accepted ({@code MAX_LOAD_SIZE}: the LOAD command's 32-bit size field). */
    public static final long MAX_LOAD_SIZE = (1L << 32) - 1;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The parser's states ({@code enum mlx5_vf_load_state}). */
    public enum LoadState { READ_HEADER, PREP_HEADER_DATA, READ_HEADER_DATA, PREP_IMAGE, READ_IMAGE, LOAD_IMAGE, ERROR }

    private final MemorySegment header = Arena.ofAuto().allocate(RECORD_HEADER + 8);
    private LoadState state = LoadState.READ_HEADER;
    private int headerFill;
    private long recordSize;
    private int recordFlags;
    private int tag;
    private long recordFill;
    private long announced;
    private DataBuffer image;
    private long loaded;
    private long received;

    ResumeStream(Mlx5VfDriver core, Object lock) {
        super(core, lock);
    }

    /**
     * Writes {@code len} bytes of the stream from {@code src} at {@code offset}; every byte is
     * consumed, and each image is loaded as soon as its record is complete.
     *
     * @throws VfioMigrationException as described above; the device's state is unchanged by a refused record
     */
    public void write(MemorySegment src, long offset, long len) {
        synchronized (lock) {
            if (closed) {
                throw new VfioMigrationException("EINVAL", core.name() + ": the resuming stream is closed");
            }
            if (state == LoadState.ERROR) {
                throw new VfioMigrationException("EIO", core.name() + ": the resuming stream failed; it accepts no more data");
            }
            try {
                parse(src, offset, len);
            } catch (RuntimeException e) {
                state = LoadState.ERROR;
                throw e;
            }
        }
    }

    private void parse(MemorySegment src, long offset, long len) {
        long end = offset + len;
        while (offset < end || state == LoadState.PREP_IMAGE || state == LoadState.PREP_HEADER_DATA || state == LoadState.LOAD_IMAGE) {
            switch (state) {
                case READ_HEADER -> {
                    int n = (int) Math.min(RECORD_HEADER - headerFill, end - offset);
                    MemorySegment.copy(src, offset, header, headerFill, n);
                    offset += n;
                    received += n;
                    headerFill += n;
                    if (headerFill < RECORD_HEADER) {
                        return;
                    }
                    headerFill = 0;
                    recordSize = header.get(LONG, 0);
                    recordFlags = header.get(INT, 8);
                    tag = header.get(INT, 12);
                    recordFill = 0;
                    if (tag == TAG_FW_DATA) {
                        if (recordSize < 0 || recordSize > MAX_LOAD_SIZE) {
                            throw new VfioMigrationException("ENOMEM", String.format("%s: image record of %s bytes is larger than the device loads (%d)", core.name(),
                                    Long.toUnsignedString(recordSize), MAX_LOAD_SIZE));
                        }
                        state = LoadState.PREP_IMAGE;
                    } else if (tag == TAG_STOP_COPY_SIZE || (recordFlags & FLAG_OPTIONAL) != 0) {
                        if (recordSize < 0 || (tag == TAG_STOP_COPY_SIZE && recordSize != 8)) {
                            throw new VfioMigrationException("EINVAL", String.format("%s: STOP_COPY_SIZE record of %s bytes (expected: 8)", core.name(),
                                    Long.toUnsignedString(recordSize)));
                        }
                        state = LoadState.PREP_HEADER_DATA;
                    } else {
                        throw new VfioMigrationException("EOPNOTSUPP", String.format("%s: unknown mandatory record tag %d at stream byte %d", core.name(), tag,
                                received - RECORD_HEADER));
                    }
                }
                case PREP_HEADER_DATA -> state = LoadState.READ_HEADER_DATA;
                case READ_HEADER_DATA -> {
                    long n = Math.min(recordSize - recordFill, end - offset);
                    if (tag == TAG_STOP_COPY_SIZE) {
                        MemorySegment.copy(src, offset, header, RECORD_HEADER + recordFill, n);
                    } // an unknown optional record is skipped
                    offset += n;
                    received += n;
                    recordFill += n;
                    if (recordFill == recordSize) {
                        if (tag == TAG_STOP_COPY_SIZE) {
                            announced = header.get(LONG, RECORD_HEADER);
                        }
                        state = LoadState.READ_HEADER;
                    }
                }
                case PREP_IMAGE -> {
                    long need = Math.max(recordSize, Math.min(announced, MAX_LOAD_SIZE));
                    if (image == null || image.capacity() < recordSize) {
                        if (image != null) {
                            core.freeDataBuffer(image);
                            image = null;
                        }
                        image = core.allocDataBuffer(pagesFor(need), null);
                    }
                    state = LoadState.READ_IMAGE;
                }
                case READ_IMAGE -> {
                    long n = Math.min(recordSize - recordFill, end - offset);
                    core.write(image, recordFill, src, offset, n);
                    offset += n;
                    received += n;
                    recordFill += n;
                    if (recordFill == recordSize) {
                        image.length = recordSize;
                        state = LoadState.LOAD_IMAGE;
                    }
                }
                case LOAD_IMAGE -> {
                    load();
                    state = LoadState.READ_HEADER;
                }
                case ERROR -> throw new IllegalStateException("unreachable");
            }
        }
    }

    /** {@code mlx5vf_cmd_load_vhca_state}: the image buffer mapped to the device (once), then LOAD. */
    private void load() {
        if (!image.dmaMapped()) {
            core.dmaMap(image, DmaDirection.TO_DEVICE);
        }
        int token = core.submitAsync(Mlx5Vf.CMD_LOAD_VHCA_STATE, image.mkey, image.length, 0, "LOAD_VHCA_STATE");
        Mlx5VfDriver.Event e = core.awaitEvent(token, "LOAD_VHCA_STATE");
        if (e.status() != Mlx5Vf.ST_OK) {
            throw new VfioMigrationException("EIO", String.format("%s: LOAD_VHCA_STATE of a %d-byte image failed with device status %d (%s)", core.name(),
                    image.length, e.status(), Mlx5VfDriver.statusName(e.status())));
        }
        loaded++;
    }

    /** The parser's state. */
    public LoadState loadState() {
        synchronized (lock) {
            return state;
        }
    }

    /** Images loaded into the device. */
    public long imagesLoaded() {
        synchronized (lock) {
            return loaded;
        }
    }

    /** The stop-copy size the stream announced (0 when none). */
    public long announcedStopCopySize() {
        synchronized (lock) {
            return announced;
        }
    }

    /** RESUMING → STOP: a stream that ends inside a record is refused. */
    void finish() {
        if (state == LoadState.ERROR) {
            throw new VfioMigrationException("EIO", core.name() + ": the resuming stream failed");
        }
        if (state != LoadState.READ_HEADER || headerFill != 0) {
            throw new VfioMigrationException("EINVAL", String.format("%s: truncated migration stream: it ends inside a record (%s, %d of %d bytes)", core.name(),
                    headerFill != 0 ? "header" : state, headerFill != 0 ? headerFill : recordFill, headerFill != 0 ? RECORD_HEADER : recordSize));
        }
    }

    @Override
    void release() {
        if (image != null) {
            core.freeDataBuffer(image);
            image = null;
        }
        super.release();
    }
}
