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
     * A file-backed namespace of {@code size} bytes. The file is opened on the first I/O and
     * created by the first write: building a machine to look at it (as {@code dmactl
     * machine} does) writes nothing, and reads of a file that does not exist yet are zeros.
     *
     * @throws UncheckedIOException naming the file when it cannot be opened or created
     */
    static Namespace inFile(Path file, long size) {
        return new FileNamespace(file, size);
    }
}
