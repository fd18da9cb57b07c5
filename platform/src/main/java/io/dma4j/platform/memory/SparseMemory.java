package io.dma4j.platform.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Byte storage of a given size, kept off-heap and allocated lazily in 4 MiB chunks on the
 * first write: a machine may describe terabytes of DRAM while using only what is written.
 * Reading memory that was never written yields zeros and allocates nothing.
 *
 * <p>Offsets are relative to the start of the storage (0 .. {@link #size()}). Multi-byte
 * values are little-endian, as on x86 and PCIe. A chunk is {@link #CHUNK_SIZE} bytes and
 * naturally aligned in the address space the storage is placed at (the {@code base} given
 * to {@link #SparseMemory(long, long)}), so any block of at most 4 MiB that is naturally
 * aligned there (every buddy allocation) lies inside one chunk and can be viewed as one
 * {@link MemorySegment}, whatever the alignment of the region's base.
 *
 * <p>Thread safety: all methods may be called from any thread. Chunk allocation is
 * race-free; concurrent accesses to the same bytes behave like plain memory (no ordering
 * beyond what the caller establishes).
 */
public final class SparseMemory implements AutoCloseable {
    /** log2 of the chunk size. */
    public static final int CHUNK_SHIFT = 22;
    /** Bytes per chunk (4 MiB). */
    public static final long CHUNK_SIZE = 1L << CHUNK_SHIFT;
    private static final int LEAF_SHIFT = 10;
    private static final int LEAF_SIZE = 1 << LEAF_SHIFT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Zeros to copy from: filling through a slice would allocate a segment object per call. */
    private static final MemorySegment ZEROS = Arena.global().allocate(64 * 1024, 4096);

    private final long size;
    /** Where offset 0 lies inside its 4 MiB chunk: the base address modulo {@link #CHUNK_SIZE}. */
    private final long phase;
    private final Arena arena = Arena.ofShared();
    private final AtomicReferenceArray<AtomicReferenceArray<MemorySegment>> directory;
    private final AtomicLong touchedChunks = new AtomicLong();
    private volatile boolean closed;

    /**
     * Creates storage of {@code size} bytes; nothing is allocated until written.
     *
     * @throws IllegalArgumentException if size is not positive or not a multiple of 4 KiB
     */
    public SparseMemory(long size) {
        this(size, 0);
    }

    /**
     * Creates storage of {@code size} bytes placed at address {@code base}: its chunks are
     * naturally aligned 4 MiB blocks of that address space, so a view of any naturally aligned
     * block up to 4 MiB there succeeds even when the base is not 4 MiB aligned (the default
     * machine's low DRAM starts at 1 MiB). Nothing is allocated until written.
     *
     * @throws IllegalArgumentException if size is not positive or not a multiple of 4 KiB, or
     *                                  base is negative or not 4 KiB aligned
     */
    public SparseMemory(long size, long base) {
        if (size <= 0 || (size & 0xFFF) != 0) {
            throw new IllegalArgumentException("size: 0x" + Long.toHexString(size) + " (expected: a positive multiple of 4 KiB)");
        }
        if (base < 0 || (base & 0xFFF) != 0) {
            throw new IllegalArgumentException("base: 0x" + Long.toHexString(base) + " (expected: a non-negative multiple of 4 KiB)");
        }
        this.size = size;
        this.phase = base & (CHUNK_SIZE - 1);
        long chunks = (phase + size + CHUNK_SIZE - 1) >>> CHUNK_SHIFT;
        long leaves = (chunks + LEAF_SIZE - 1) >>> LEAF_SHIFT;
        if (leaves > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("size: 0x" + Long.toHexString(size) + " (expected: below 2^63 bytes)");
        }
        this.directory = new AtomicReferenceArray<>((int) leaves);
    }

    /** Size in bytes. */
    public long size() {
        return size;
    }

    /** Number of 4 MiB chunks allocated so far (memory that was written). */
    public long touchedChunks() {
        return touchedChunks.get();
    }

    /** Copies {@code len} bytes at {@code offset} into {@code dst} at {@code dstOffset}. */
    public void read(long offset, MemorySegment dst, long dstOffset, long len) {
        offset = check(offset, len);
        while (len > 0) {
            long inChunk = CHUNK_SIZE - (offset & (CHUNK_SIZE - 1));
            long n = Math.min(len, inChunk);
            MemorySegment chunk = chunkOrNull(offset);
            if (chunk == null) {
                zero(dst, dstOffset, n);
            } else {
                MemorySegment.copy(chunk, offset & (CHUNK_SIZE - 1), dst, dstOffset, n);
            }
            offset += n;
            dstOffset += n;
            len -= n;
        }
    }

    /** Copies {@code len} bytes from {@code src} at {@code srcOffset} to {@code offset}. */
    public void write(long offset, MemorySegment src, long srcOffset, long len) {
        offset = check(offset, len);
        while (len > 0) {
            long inChunk = CHUNK_SIZE - (offset & (CHUNK_SIZE - 1));
            long n = Math.min(len, inChunk);
            MemorySegment.copy(src, srcOffset, chunkForWrite(offset), offset & (CHUNK_SIZE - 1), n);
            offset += n;
            srcOffset += n;
            len -= n;
        }
    }

    /** Copies {@code len} bytes inside this storage; overlapping ranges behave like memmove. */
    public void copy(long fromOffset, long toOffset, long len) {
        copy(this, fromOffset, this, toOffset, len);
    }

    /**
     * Copies {@code len} bytes from one storage to another (or the same one, like memmove).
     * Allocates nothing; untouched source memory copies as zeros.
     */
    public static void copy(SparseMemory src, long srcOffset, SparseMemory dst, long dstOffset, long len) {
        srcOffset = src.check(srcOffset, len);
        dstOffset = dst.check(dstOffset, len);
        boolean backward = src == dst && dstOffset > srcOffset && dstOffset < srcOffset + len;
        long done = 0;
        while (done < len) {
            // forward: pieces from the start; backward (overlap, moving up): pieces from the end
            long left = len - done;
            long s0;
            long d0;
            long n;
            if (!backward) {
                s0 = srcOffset + done;
                d0 = dstOffset + done;
                n = Math.min(left, Math.min(CHUNK_SIZE - (s0 & (CHUNK_SIZE - 1)), CHUNK_SIZE - (d0 & (CHUNK_SIZE - 1))));
            } else {
                long sEnd = srcOffset + left;
                long dEnd = dstOffset + left;
                n = Math.min(left, Math.min(((sEnd - 1) & (CHUNK_SIZE - 1)) + 1, ((dEnd - 1) & (CHUNK_SIZE - 1)) + 1));
                s0 = sEnd - n;
                d0 = dEnd - n;
            }
            MemorySegment from = src.chunkOrNull(s0);
            if (from == null) {
                MemorySegment to = dst.chunkOrNull(d0);
                if (to != null) {
                    zero(to, d0 & (CHUNK_SIZE - 1), n);
                }
            } else {
                MemorySegment.copy(from, s0 & (CHUNK_SIZE - 1), dst.chunkForWrite(d0), d0 & (CHUNK_SIZE - 1), n);
            }
            done += n;
        }
    }

    private static void zero(MemorySegment seg, long offset, long len) {
        while (len > 0) {
            long n = Math.min(len, ZEROS.byteSize());
            MemorySegment.copy(ZEROS, 0, seg, offset, n);
            offset += n;
            len -= n;
        }
    }

    /** Sets {@code len} bytes at {@code offset} to {@code value}; zero-filling untouched chunks allocates nothing. */
    public void fill(long offset, long len, byte value) {
        offset = check(offset, len);
        while (len > 0) {
            long inChunk = CHUNK_SIZE - (offset & (CHUNK_SIZE - 1));
            long n = Math.min(len, inChunk);
            if (value == 0) {
                MemorySegment chunk = chunkOrNull(offset);
                if (chunk != null) {
                    zero(chunk, offset & (CHUNK_SIZE - 1), n);
                }
            } else {
                chunkForWrite(offset).asSlice(offset & (CHUNK_SIZE - 1), n).fill(value);
            }
            offset += n;
            len -= n;
        }
    }

    /** Reads one byte. */
    public byte getByte(long offset) {
        offset = check(offset, 1);
        MemorySegment chunk = chunkOrNull(offset);
        return chunk == null ? 0 : chunk.get(ValueLayout.JAVA_BYTE, offset & (CHUNK_SIZE - 1));
    }

    /** Writes one byte. */
    public void putByte(long offset, byte value) {
        offset = check(offset, 1);
        chunkForWrite(offset).set(ValueLayout.JAVA_BYTE, offset & (CHUNK_SIZE - 1), value);
    }

    /** Reads a little-endian 32-bit value (any alignment). */
    public int getInt(long offset) {
        offset = check(offset, 4);
        if (!sameChunk(offset, 4)) {
            return (int) getBytesLe(offset, 4);
        }
        MemorySegment chunk = chunkOrNull(offset);
        return chunk == null ? 0 : chunk.get(INT, offset & (CHUNK_SIZE - 1));
    }

    /** Writes a little-endian 32-bit value (any alignment). */
    public void putInt(long offset, int value) {
        offset = check(offset, 4);
        if (!sameChunk(offset, 4)) {
            putBytesLe(offset, 4, value);
            return;
        }
        chunkForWrite(offset).set(INT, offset & (CHUNK_SIZE - 1), value);
    }

    /** Reads a little-endian 64-bit value (any alignment). */
    public long getLong(long offset) {
        offset = check(offset, 8);
        if (!sameChunk(offset, 8)) {
            return getBytesLe(offset, 8);
        }
        MemorySegment chunk = chunkOrNull(offset);
        return chunk == null ? 0 : chunk.get(LONG, offset & (CHUNK_SIZE - 1));
    }

    /** Writes a little-endian 64-bit value (any alignment). */
    public void putLong(long offset, long value) {
        offset = check(offset, 8);
        if (!sameChunk(offset, 8)) {
            putBytesLe(offset, 8, value);
            return;
        }
        chunkForWrite(offset).set(LONG, offset & (CHUNK_SIZE - 1), value);
    }

    /**
     * A live view of {@code len} bytes at {@code offset}, allocating the chunk if needed.
     * Writes through the view are writes to this memory.
     *
     * @throws IllegalArgumentException if the range crosses a 4 MiB chunk boundary
     */
    public MemorySegment view(long offset, long len) {
        long at = check(offset, len);
        if (!sameChunk(at, len)) {
            throw new IllegalArgumentException("view at 0x" + Long.toHexString(offset) + " size 0x" + Long.toHexString(len)
                    + " crosses a 4 MiB chunk boundary (expected: a range inside one naturally aligned 4 MiB block)");
        }
        return chunkForWrite(at).asSlice(at & (CHUNK_SIZE - 1), len);
    }

    /** Frees all chunks; further accesses throw {@link IllegalStateException}. Idempotent. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }

    private static boolean sameChunk(long offset, long len) {
        return len <= CHUNK_SIZE && (offset >>> CHUNK_SHIFT) == ((offset + len - 1) >>> CHUNK_SHIFT);
    }

    /** {@code n} bytes at storage position {@code at}, little-endian, across a chunk boundary. */
    private long getBytesLe(long at, int n) {
        long v = 0;
        for (int i = n - 1; i >= 0; i--) {
            MemorySegment chunk = chunkOrNull(at + i);
            v = (v << 8) | ((chunk == null ? 0 : chunk.get(ValueLayout.JAVA_BYTE, (at + i) & (CHUNK_SIZE - 1))) & 0xFF);
        }
        return v;
    }

    private void putBytesLe(long at, int n, long v) {
        for (int i = 0; i < n; i++) {
            chunkForWrite(at + i).set(ValueLayout.JAVA_BYTE, (at + i) & (CHUNK_SIZE - 1), (byte) (v >>> (8 * i)));
        }
    }

    /** Checks {@code [offset, offset + len)} and returns the storage position of {@code offset} (chunk index and offset in it). */
    private long check(long offset, long len) {
        if (offset < 0 || len < 0 || offset > size - len) {
            throw new IndexOutOfBoundsException("offset 0x" + Long.toHexString(offset) + " length 0x" + Long.toHexString(len)
                    + " outside memory of size 0x" + Long.toHexString(size));
        }
        if (closed) {
            throw new IllegalStateException("memory is closed (its machine was closed)");
        }
        return offset + phase;
    }

    private MemorySegment chunkOrNull(long offset) {
        long index = offset >>> CHUNK_SHIFT;
        AtomicReferenceArray<MemorySegment> leaf = directory.get((int) (index >>> LEAF_SHIFT));
        return leaf == null ? null : leaf.get((int) (index & (LEAF_SIZE - 1)));
    }

    private MemorySegment chunkForWrite(long offset) {
        MemorySegment chunk = chunkOrNull(offset);
        return chunk != null ? chunk : allocateChunk(offset >>> CHUNK_SHIFT);
    }

    private synchronized MemorySegment allocateChunk(long index) {
        if (closed) {
            throw new IllegalStateException("memory is closed (its machine was closed)");
        }
        int top = (int) (index >>> LEAF_SHIFT);
        AtomicReferenceArray<MemorySegment> leaf = directory.get(top);
        if (leaf == null) {
            leaf = new AtomicReferenceArray<>(LEAF_SIZE);
            directory.set(top, leaf);
        }
        int slot = (int) (index & (LEAF_SIZE - 1));
        MemorySegment chunk = leaf.get(slot);
        if (chunk == null) {
            long bytes = Math.min(CHUNK_SIZE, phase + size - (index << CHUNK_SHIFT));
            chunk = arena.allocate(bytes, 4096); // zeroed by the arena
            leaf.set(slot, chunk);
            touchedChunks.incrementAndGet();
        }
        return chunk;
    }
}
