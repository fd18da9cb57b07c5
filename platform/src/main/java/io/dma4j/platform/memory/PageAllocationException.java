package io.dma4j.platform.memory;

/**
 * No free block of the requested order fits: the machine's DRAM (below the requested
 * limit) is used up or too fragmented. Nothing was allocated.
 */
public final class PageAllocationException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param message what was asked and the allocator's state */
    public PageAllocationException(String message) {
        super(message);
    }
}
