package io.dma4j.consumers.vfio;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.IovaState;
import io.dma4j.api.ScatterList;

import java.lang.foreign.MemorySegment;

/**
 * A migration data buffer ({@code struct mlx5_vhca_data_buffer}): an array of pages (one
 * physical address, 8 bytes, per 4 KiB page; the lookup for a byte offset is
 * {@code pages[offset / 4096]}), and when it is DMA-mapped, its IOVA state, its memory key and
 * the create-mkey command buffer that holds the MTT. A buffer with no direction is CPU-only
 * (stream headers). Its place in the migration stream is {@link #startPos()} and
 * {@link #length()} valid bytes.
 *
 * <p>Not thread-safe: a buffer belongs to one migration stream, whose lock guards it.
 */
public final class DataBuffer {
    final long[] pages;
    final DmaDirection dir;
    final IovaState state = new IovaState();
    DmaDirection mappedDir;
    CoherentBuffer mkeyIn;
    int mkey;
    boolean dmaed;
    ScatterList sg; // CLASSIC only
    int sgEntries;
    long startPos;
    long length;
    int chunk = -1;
    boolean freed;

    DataBuffer(long[] pages, DmaDirection dir) {
        this.pages = pages;
        this.dir = dir;
    }

    /** Pages in the buffer. */
    public int npages() {
        return pages.length;
    }

    /** Bytes the buffer holds ({@code npages × 4096}). */
    public long capacity() {
        return (long) pages.length * Mlx5VfDriver.PAGE;
    }

    /** The DMA direction, or null for a CPU-only buffer. */
    public DmaDirection direction() {
        return dir;
    }

    /** The physical address of page {@code i}. */
    public long page(int i) {
        return pages[i];
    }

    /** The device's memory key over the buffer (0 when not mapped). */
    public int mkey() {
        return mkey;
    }

    /** Whether the buffer is DMA-mapped with a key. */
    public boolean dmaMapped() {
        return dmaed;
    }

    /** Whether the IOVA path mapped it (one IOVA range, pages linked at their offsets). */
    public boolean usesIova() {
        return dmaed && sg == null && state.useIova();
    }

    /** The IOVA state (meaningful when {@link #usesIova()}). */
    public IovaState iovaState() {
        return state;
    }

    /** The buffer's position in the migration stream. */
    public long startPos() {
        return startPos;
    }

    /** Valid bytes in the buffer. */
    public long length() {
        return length;
    }

    /** Scatter-list entries the CLASSIC registration used (0 otherwise). */
    public int sgEntries() {
        return sgEntries;
    }

    /**
     * The driver's bookkeeping for the buffer's DMA mapping, by the kernel's struct sizes: with
     * {@link Registration#TWO_STEP} 8 B per page (the page array) plus the 16-byte
     * {@code dma_iova_state}; with {@link Registration#CLASSIC} 32 B per scatter-list entry
     * (the page array was temporary there). The MTT, 8 B per page in the command buffer,
     * exists in both and is not counted.
     */
    public long bookkeepingBytes() {
        return sg != null ? 32L * sgEntries : 8L * pages.length + 16;
    }

    /** The MTT entry {@code i} as the device sees it (big-endian in the command buffer). */
    long mtt(int i) {
        return mkeyIn.cpu().get(Mlx5VfDriver.LONG_BE, io.dma4j.hw.mlx5vf.Mlx5Vf.MKEY_IN_HEADER + 8L * i);
    }

    MemorySegment mkeyInCpu() {
        return mkeyIn.cpu();
    }
}
