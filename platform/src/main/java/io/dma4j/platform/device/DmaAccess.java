package io.dma4j.platform.device;

/** The direction of one device access through its DMA port. */
public enum DmaAccess {
    /** The device reads memory (a TO_DEVICE transfer). */
    READ,
    /** The device writes memory (a FROM_DEVICE transfer). */
    WRITE
}
