package io.dma4j.api;

import java.lang.foreign.MemorySegment;

/**
 * A coherent DMA allocation ({@code dma_alloc_coherent}): zeroed memory that CPU and
 * device share without sync calls.
 *
 * @param cpu        the CPU's view (writes are immediately visible to the device)
 * @param dmaAddress the address the device uses
 * @param phys       the physical address of the first byte
 * @param size       the size requested, in bytes
 */
public record CoherentBuffer(MemorySegment cpu, long dmaAddress, long phys, long size) {
}
