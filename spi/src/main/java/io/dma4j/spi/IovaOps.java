package io.dma4j.spi;

import io.dma4j.api.DmaDirection;
import io.dma4j.api.IovaState;

/**
 * The two-step IOVA calls of a backend that has IOVA space (the kernel's
 * {@code dma_iova_*} on {@code use_dma_iommu()} devices): an optional capability returned
 * by {@link MappingBackend#twoStep()}. The runtime has validated every argument before a
 * call (the state holds IOVA this device allocated, the ranges lie in the reservation,
 * directions and attributes are valid) and clears the state after {@link #destroy} and
 * {@link #free}. Backends record results in the state with {@link MappingStates}.
 *
 * <p>Thread safety: safe for concurrent use on different states.
 */
public interface IovaOps {
    /**
     * {@code dma_iova_try_alloc}: reserves granule-rounded {@code size + (phys % granule)}
     * (the state was cleared and {@code size > 0}); on success records the start plus that
     * offset with {@link MappingStates#setIova}.
     *
     * @return false when no space is left
     */
    boolean tryAlloc(IovaState state, long phys, long size);

    /** {@code dma_iova_link}: maps {@code [phys, phys+size)} at {@code state.addr() + offset}, without flushing. */
    void link(IovaState state, long phys, long offset, long size, DmaDirection dir, int attrs);

    /** {@code dma_iova_sync}: one IOTLB sync for the links in {@code [offset, offset+size)}. */
    void sync(IovaState state, long offset, long size);

    /** {@code dma_iova_unlink}: removes the links in the range with an immediate invalidation; the IOVA stays reserved. */
    void unlink(IovaState state, long offset, long size, DmaDirection dir, int attrs);

    /** {@code dma_iova_destroy}: unlinks {@code [0, mappedLen)} and frees the reservation (invalidation may be deferred). */
    void destroy(IovaState state, long mappedLen, DmaDirection dir, int attrs);

    /** {@code dma_iova_free}: frees the reservation; nothing is linked. */
    void free(IovaState state);
}
