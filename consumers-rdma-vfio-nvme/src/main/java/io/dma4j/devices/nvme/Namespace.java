package io.dma4j.devices.nvme;

import io.dma4j.platform.memory.SparseMemory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The storage behind an NVMe namespace: memory (sparse, allocated on first write) or a
 * file (positional reads and writes; bytes past the end read as zeros).
 *
 * <p>Thread safety: implementations are safe for concurrent use.
 */
public interface Namespace extends AutoCloseable {
    /** Size in bytes. */
    long size();

    /** Copies {@code len} bytes at {@code offset} into {@code dst}. */
    void read(long offset, MemorySegment dst, long dstOffset, long len);

    /** Copies {@code len} bytes from {@code src} to {@code offset}. */
    void write(long offset, MemorySegment src, long srcOffset, long len);

    @Override
    void close();

    /** A memory-backed namespace. */
    static Namespace inMemory(long size) {
        SparseMemory m = new SparseMemory(size);
        return new Namespace() {
            @Override
            public long size() {
                return size;
            }

            @Override
            public void read(long offset, MemorySegment dst, long dstOffset, long len) {
                m.read(offset, dst, dstOffset, len);
            }

            @Override
            public void write(long offset, MemorySegment src, long srcOffset, long len) {
                m.write(offset, src, srcOffset, len);
            }

            @Override
            public void close() {
                m.close();
            }
        };
    }

    /**
     * A file-backed namespace of {@code size} bytes (the file is created if missing).
     *
     * @throws UncheckedIOException naming the file when it cannot be opened
     */
    static Namespace inFile(Path file, long size) {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UncheckedIOException("NVMe namespace file " + file + ": " + e.getMessage(), e);
        }
        return new Namespace() {
            @Override
            public long size() {
                return size;
            }

            @Override
            public void read(long offset, MemorySegment dst, long dstOffset, long len) {
                ByteBuffer bb = dst.asSlice(dstOffset, len).asByteBuffer();
                try {
                    while (bb.hasRemaining()) {
                        int n = ch.read(bb, offset + bb.position());
                        if (n < 0) { // past the end of the file: zeros
                            while (bb.hasRemaining()) {
                                bb.put((byte) 0);
                            }
                        }
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException("NVMe namespace file " + file + ": " + e.getMessage(), e);
                }
            }

            @Override
            public void write(long offset, MemorySegment src, long srcOffset, long len) {
                ByteBuffer bb = src.asSlice(srcOffset, len).asByteBuffer();
                try {
                    while (bb.hasRemaining()) {
                        ch.write(bb, offset + bb.position());
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException("NVMe namespace file " + file + ": " + e.getMessage(), e);
                }
            }

            @Override
            public void close() {
                try {
                    ch.close();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
    }
}
