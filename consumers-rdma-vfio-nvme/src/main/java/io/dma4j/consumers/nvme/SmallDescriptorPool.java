package io.dma4j.consumers.nvme;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaMapper;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The NVMe driver's small descriptor pool ({@code NVME_SMALL_POOL_SIZE}, a {@code dma_pool} of
 * 256-byte blocks): a PRP list of at most 32 entries or an SGL segment of at most 16
 * descriptors comes from here instead of a whole 4 KiB page. Blocks are carved out of 4 KiB
 * coherent pages, 256-byte aligned, or 512-byte aligned with {@code NVME_QUIRK_DMAPOOL_ALIGN_512}
 * (then half of each page goes unused). Pages are kept for reuse until {@link #close()}.
 *
 * <p>Thread safety: none; the driver's one thread.
 */
final class SmallDescriptorPool {
    /** {@code NVME_SMALL_POOL_SIZE}. */
    static final int BLOCK = 256;
    private static final int PAGE = 4096;

    private final DmaMapper mapper;
    private final int stride;
    private final List<CoherentBuffer> pages = new ArrayList<>();
    private int[] free = new int[16]; // block numbers: page index * blocks per page + slot
    private int freeCount;

    /** @param align512 {@code NVME_QUIRK_DMAPOOL_ALIGN_512}: blocks aligned to 512 bytes */
    SmallDescriptorPool(DmaMapper mapper, boolean align512) {
        this.mapper = mapper;
        this.stride = align512 ? 512 : BLOCK;
    }

    /** A free block's number; a new coherent page when none is free. */
    int take() {
        if (freeCount == 0) {
            CoherentBuffer page = mapper.allocCoherent(PAGE, 0);
            pages.add(page);
            int perPage = PAGE / stride;
            if (free.length < perPage) {
                free = Arrays.copyOf(free, perPage);
            }
            int first = (pages.size() - 1) * perPage;
            for (int i = perPage - 1; i >= 0; i--) {
                free[freeCount++] = first + i;
            }
        }
        return free[--freeCount];
    }

    /** Returns a block taken with {@link #take()}. */
    void give(int block) {
        if (freeCount == free.length) {
            free = Arrays.copyOf(free, free.length * 2);
        }
        free[freeCount++] = block;
    }

    /** The CPU view of a block (256 bytes). */
    MemorySegment cpu(int block) {
        int perPage = PAGE / stride;
        return pages.get(block / perPage).cpu().asSlice((long) (block % perPage) * stride, BLOCK);
    }

    /** The DMA address of a block. */
    long dma(int block) {
        int perPage = PAGE / stride;
        return pages.get(block / perPage).dmaAddress() + (long) (block % perPage) * stride;
    }

    /** Coherent memory the pool holds, in bytes. */
    long bytes() {
        return (long) pages.size() * PAGE;
    }

    /** Frees every page (the driver is closing). */
    void close() {
        for (CoherentBuffer p : pages) {
            mapper.freeCoherent(p);
        }
        pages.clear();
        freeCount = 0;
    }
}
