package io.dma4j.spi;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.ScatterList;

import java.lang.foreign.MemorySegment;

/**
 * The mapping role for one device: the kernel's {@code struct dma_map_ops} bound to a
 * device ({@code include/linux/dma-map-ops.h}). It is a contract of its own, not the
 * driver API: the runtime implements {@code DmaMapper} on top of it, validates every
 * argument (sizes, wrap-around, directions, attribute bits, the two-step calls' offsets,
 * masks) before calling, and adds DMA-debug checks and statistics around it, so a backend
 * does the mapping work only. Growing the driver API does not change this interface.
 *
 * <p>What the runtime does itself, so backends need not: device masks
 * ({@code dma_set_mask} asks {@link #dmaSupported}), the device's segment limits, P2P
 * classification of a physical address ({@code pci_p2pdma_state}), the two-step calls
 * when {@link #twoStep()} is {@code null} (try-alloc answers false, as
 * {@code use_dma_iommu()} false does in the kernel).
 *
 * <p>Most backends extend {@link AbstractMappingBackend}, which provides scatter lists
 * entry by entry, the scatter-list syncs and the required mask; a backend then writes
 * {@code mapPhys}, {@code unmapPhys}, {@code syncForCpu}, {@code syncForDevice},
 * {@code allocCoherent}, {@code freeCoherent} and {@code providerName}.
 *
 * <p>A backend that translates attaches its {@link io.dma4j.platform.device.DmaTranslation}
 * through {@link BackendContext#attachTranslation} when created, and detaches it in
 * {@link #release()}.
 *
 * <p>Thread safety: must be safe for concurrent use on different mappings, as the
 * kernel's ops are.
 */
public interface MappingBackend {
    /** The name of the provider that made this backend. */
    String providerName();

    /** {@code ops->map_phys}: maps {@code [phys, phys+size)}; returns the DMA address of the first byte. */
    long mapPhys(long phys, long size, DmaDirection dir, int attrs);

    /** {@code ops->unmap_phys}: undoes {@link #mapPhys}. */
    void unmapPhys(long dma, long size, DmaDirection dir, int attrs);

    /** {@code ops->map_sg}: maps entries {@code [0, nents)}, writes the DMA segments into {@code sg}, returns their count. */
    int mapSg(ScatterList sg, int nents, DmaDirection dir, int attrs);

    /** {@code ops->unmap_sg}: undoes {@link #mapSg} ({@code nents} as passed to it). */
    void unmapSg(ScatterList sg, int nents, DmaDirection dir, int attrs);

    /** {@code ops->sync_single_for_cpu}. */
    void syncForCpu(long dma, long size, DmaDirection dir);

    /** {@code ops->sync_single_for_device}. */
    void syncForDevice(long dma, long size, DmaDirection dir);

    /**
     * {@code ops->sync_sg_for_cpu}: by default {@link #syncForCpu} for each DMA segment that
     * is not a peer bus address, as {@code dma_direct_sync_sg_for_cpu} walks the list.
     */
    default void syncSgForCpu(ScatterList sg, int nents, DmaDirection dir) {
        for (int i = 0; i < nents && sg.dmaLength(i) != 0; i++) {
            if ((sg.dmaFlags(i) & ScatterList.FLAG_BUS_ADDRESS) == 0) {
                syncForCpu(sg.dmaAddress(i), sg.dmaLength(i), dir);
            }
        }
    }

    /** {@code ops->sync_sg_for_device}: by default {@link #syncForDevice} for each DMA segment, as above. */
    default void syncSgForDevice(ScatterList sg, int nents, DmaDirection dir) {
        for (int i = 0; i < nents && sg.dmaLength(i) != 0; i++) {
            if ((sg.dmaFlags(i) & ScatterList.FLAG_BUS_ADDRESS) == 0) {
                syncForDevice(sg.dmaAddress(i), sg.dmaLength(i), dir);
            }
        }
    }

    /** {@code ops->alloc}: zeroed memory shared with the device, reachable under the coherent mask ({@code size} 1 .. 4 MiB, checked). */
    CoherentBuffer allocCoherent(long size, int attrs);

    /** {@code ops->free}: frees what {@link #allocCoherent} returned. */
    void freeCoherent(long size, MemorySegment cpu, long dma);

    /**
     * {@code ops->dma_supported}: whether the backend can honour {@code mask} as the
     * device's mask (the runtime has checked it is 2^n − 1 and within the hardware's reach).
     */
    default boolean dmaSupported(long mask) {
        return true;
    }

    /** {@code dma_need_unmap}: whether DMA addresses must be kept for unmapping. */
    default boolean needUnmap() {
        return true;
    }

    /** {@code dma_need_sync}: whether syncs on {@code dma} do anything. */
    default boolean needSync(long dma) {
        return true;
    }

    /** {@code ops->max_mapping_size}: {@link Long#MAX_VALUE} for no limit. */
    default long maxMappingSize() {
        return Long.MAX_VALUE;
    }

    /** {@code ops->opt_mapping_size}: by default {@link #maxMappingSize()}. */
    default long optMappingSize() {
        return maxMappingSize();
    }

    /** {@code ops->get_merge_boundary}: 0 when the backend never merges segments. */
    default long mergeBoundary() {
        return 0;
    }

    /** {@code ops->get_required_mask}: the smallest mask that reaches all of RAM through this backend. */
    long requiredMask();

    /**
     * {@code dma_addressing_limited}: whether a device with this streaming {@code mask} may
     * need bouncing to reach RAM. By default: the mask is below {@link #requiredMask()}. A
     * backend that bounces regardless of the mask (forced bouncing) answers true. Since SPI 2.1.
     */
    default boolean addressingLimited(long mask) {
        return Long.compareUnsigned(mask, requiredMask()) < 0;
    }

    /**
     * The two-step IOVA calls, or {@code null} when this backend has no IOVA space (the
     * kernel's {@code use_dma_iommu()}): the runtime then answers {@code iovaTryAlloc} with
     * {@code false} and the driver maps range by range.
     */
    default IovaOps twoStep() {
        return null;
    }

    /** Figures for statistics, written to {@code out}. Called rarely (statistics views); may allocate. */
    default void gauges(MetricSink out) {
    }

    /** The device is being released: detach translations, free per-device state. */
    void release();
}
