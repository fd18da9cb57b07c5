package io.dma4j.devices.nvme;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * {@link Namespace#inFile}: positional reads and writes on a file opened at the first I/O
 * (created at the first write); bytes past the end of the file read as zeros.
 *
 * <p>Thread safety: safe for concurrent use; opening is serialised.
 */
final class FileNamespace implements Namespace {
    private final Path file;
    private final long size;
    private volatile FileChannel channel;
    private boolean closed;

    FileNamespace(Path file, long size) {
        this.file = file;
        this.size = size;
    }

    @Override
    public long size() {
        return size;
    }

    /** The open channel; {@code null} when reading and the file does not exist yet. */
    private FileChannel channel(boolean forWrite) {
        FileChannel ch = channel;
        if (ch != null) {
            return ch;
        }
        synchronized (this) {
            if (channel == null && !closed && (forWrite || Files.exists(file))) {
                try {
                    channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
                } catch (IOException e) {
                    throw failure(e);
                }
            }
            return channel;
        }
    }

    private UncheckedIOException failure(IOException e) {
        return new UncheckedIOException("NVMe namespace file " + file + ": " + e.getMessage(), e);
    }

    @Override
    public void read(long offset, MemorySegment dst, long dstOffset, long len) {
        FileChannel ch = channel(false);
        if (ch == null) {
            dst.asSlice(dstOffset, len).fill((byte) 0); // nothing written yet
            return;
        }
        ByteBuffer bb = dst.asSlice(dstOffset, len).asByteBuffer();
        try {
            while (bb.hasRemaining()) {
                if (ch.read(bb, offset + bb.position()) < 0) { // past the end of the file: zeros
                    while (bb.hasRemaining()) {
                        bb.put((byte) 0);
                    }
                }
            }
        } catch (IOException e) {
            throw failure(e);
        }
    }

    @Override
    public void write(long offset, MemorySegment src, long srcOffset, long len) {
        FileChannel ch = channel(true);
        ByteBuffer bb = src.asSlice(srcOffset, len).asByteBuffer();
        try {
            while (bb.hasRemaining()) {
                ch.write(bb, offset + bb.position());
            }
        } catch (IOException e) {
            throw failure(e);
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                throw failure(e);
            }
        }
    }
}
