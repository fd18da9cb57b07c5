package io.dma4j.api;

/**
 * The direction of a streaming DMA mapping ({@code enum dma_data_direction}); the ordinal
 * values match the kernel's numbering.
 */
public enum DmaDirection {
    /** Data may move either way ({@code DMA_BIDIRECTIONAL}): always legal, maybe slower. */
    BIDIRECTIONAL,
    /** Memory to device ({@code DMA_TO_DEVICE}): the device only reads. */
    TO_DEVICE,
    /** Device to memory ({@code DMA_FROM_DEVICE}): the device only writes. */
    FROM_DEVICE,
    /** A debugging placeholder ({@code DMA_NONE}); never valid for a mapping call. */
    NONE;

    /** Whether the device may read memory under this direction. */
    public boolean deviceReads() {
        return this == BIDIRECTIONAL || this == TO_DEVICE;
    }

    /** Whether the device may write memory under this direction. */
    public boolean deviceWrites() {
        return this == BIDIRECTIONAL || this == FROM_DEVICE;
    }

    /** Whether this is a direction a mapping may use (not {@link #NONE} and not null). */
    public static boolean isValid(DmaDirection d) {
        return d != null && d != NONE;
    }
}
