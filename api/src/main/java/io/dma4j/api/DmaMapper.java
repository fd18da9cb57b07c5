package io.dma4j.api;

import io.dma4j.platform.device.Device;

import java.lang.foreign.MemorySegment;

/**
 * The DMA mapping API for one device: the kernel's {@code dma_*} calls in Java form.
 *
 * <p>Addresses and sizes are {@code long} byte values: "phys" is a CPU physical address,
 * "dma" the address the device uses (a bus address, or an IOVA under an IOMMU). Sizes must
 * be positive and a range must not wrap around the address space. Attribute flags are
 * {@link DmaAttrs} bits.
 *
 * <p>Errors: bad arguments (size 0, a wrapping range, a null or {@link DmaDirection#NONE}
 * direction, unknown attribute bits) throw {@link IllegalArgumentException}; a mapping that
 * cannot be made throws {@link DmaMappingException}; a call that breaks the API's rules and
 * is detected (always for the two-step calls' contract, and by the DMA-debug checks when
 * enabled) throws {@link DmaApiMisuseException}. In every case the call changed nothing.
 * A fallback the kernel expects is a {@code boolean} ({@link #iovaTryAlloc}).
 *
 * <p>The hot-path calls ({@link #mapPhys}, {@link #unmapPhys}, the sync calls, the
 * {@code iova*} calls) allocate nothing unless DMA-debug checking is on.
 *
 * <p>Thread safety: implementations are safe for concurrent use by many threads on
 * different mappings, as the kernel API is; one mapping (and one {@link IovaState} or
 * {@link ScatterList}) must be used by one thread at a time.
 */
public interface DmaMapper {
    /** The kernel's {@code DMA_MAPPING_ERROR}: never a valid DMA address. */
    long MAPPING_ERROR = -1L;

    /** The device this mapper maps for. */
    Device device();

    // ---------------------------------------------------------------- classic streaming

    /**
     * Maps a physical range for streaming DMA ({@code dma_map_phys}). After this the device
     * owns the buffer: the CPU must not touch it until {@link #unmapPhys} or
     * {@link #syncForCpu}.
     *
     * @param phys  CPU physical address of the first byte (RAM, or a BAR with {@link DmaAttrs#MMIO})
     * @param size  bytes, &gt; 0
     * @param dir   the direction
     * @param attrs {@link DmaAttrs} flags
     * @return the DMA address of the first byte
     * @throws DmaMappingException      when the range cannot be made reachable
     * @throws IllegalArgumentException for bad arguments
     */
    long mapPhys(long phys, long size, DmaDirection dir, int attrs);

    /**
     * Undoes {@link #mapPhys} ({@code dma_unmap_phys}); size, direction and the MMIO
     * attribute must match the mapping. Bounced data is copied back for FROM_DEVICE and
     * BIDIRECTIONAL unless {@link DmaAttrs#SKIP_CPU_SYNC}.
     */
    void unmapPhys(long dma, long size, DmaDirection dir, int attrs);

    /**
     * Maps a scatter list ({@code dma_map_sg_attrs}). Entries {@code [0, nents)} of
     * {@code sg} are the physical ranges; the DMA segments are written back into
     * {@code sg}.
     *
     * @return the number of DMA segments (1..nents; backends may merge)
     * @throws DmaMappingException when any entry cannot be mapped (none stays mapped)
     */
    int mapSg(ScatterList sg, int nents, DmaDirection dir, int attrs);

    /** Undoes {@link #mapSg} ({@code dma_unmap_sg_attrs}); pass the original {@code nents}, not the count returned. */
    void unmapSg(ScatterList sg, int nents, DmaDirection dir, int attrs);

    /**
     * Gives a streaming mapping (or a sub-range of one) back to the CPU
     * ({@code dma_sync_single_for_cpu}): bounced data the device wrote is copied back.
     *
     * @param dma  a DMA address inside a live mapping
     * @param size bytes from {@code dma}
     */
    void syncForCpu(long dma, long size, DmaDirection dir);

    /** Hands a mapping (or a sub-range) back to the device after CPU writes ({@code dma_sync_single_for_device}). */
    void syncForDevice(long dma, long size, DmaDirection dir);

    /** {@link #syncForCpu} for every entry of a mapped list ({@code dma_sync_sg_for_cpu}); original {@code nents}. */
    void syncSgForCpu(ScatterList sg, int nents, DmaDirection dir);

    /** {@link #syncForDevice} for every entry of a mapped list ({@code dma_sync_sg_for_device}); original {@code nents}. */
    void syncSgForDevice(ScatterList sg, int nents, DmaDirection dir);

    // ---------------------------------------------------------------- coherent

    /**
     * Allocates zeroed memory shared by CPU and device without syncs
     * ({@code dma_alloc_attrs}). Size is rounded up to whole pages; the block is naturally
     * aligned to the smallest power-of-two number of pages that holds it, and reachable
     * under the coherent mask.
     *
     * @param size  bytes, 1 .. 4 MiB
     * @throws DmaMappingException when no memory reachable by the device is free
     */
    CoherentBuffer allocCoherent(long size, int attrs);

    /**
     * Frees a coherent allocation ({@code dma_free_attrs}); size, CPU view and DMA address
     * must be those {@link #allocCoherent} returned.
     */
    void freeCoherent(long size, MemorySegment cpu, long dma);

    /** Frees a coherent allocation by the record {@link #allocCoherent} returned. */
    default void freeCoherent(CoherentBuffer buffer) {
        freeCoherent(buffer.size(), buffer.cpu(), buffer.dmaAddress());
    }

    // ---------------------------------------------------------------- two-step IOVA

    /**
     * Reserves IOVA space for a later series of links ({@code dma_iova_try_alloc}). First
     * zeroes {@code state}. Reserves the granule-rounded {@code size + (phys % granule)}
     * and sets {@code state.addr()} to its start plus that offset.
     *
     * @param phys an alignment hint: only its offset within the granule matters (0 is fine)
     * @param size bytes, &gt; 0 and below 2^63
     * @return {@code false} when this device does not use IOVA translation or no space is
     *         left: map range by range with {@link #mapPhys} instead
     */
    boolean iovaTryAlloc(IovaState state, long phys, long size);

    /**
     * Maps {@code [phys, phys+size)} at {@code state.addr() + offset} without flushing the
     * IOTLB ({@code dma_iova_link}). Only the first link (offset 0) may start mid-granule;
     * later links must start on a granule boundary. Call {@link #iovaSync} before the
     * device uses the range.
     *
     * @throws DmaApiMisuseException when the state holds no IOVA, the range leaves the
     *                               reservation, or a link at offset &gt; 0 starts mid-granule (-EIO)
     * @throws DmaMappingException   when page tables or bounce slots run out (nothing stays linked)
     */
    void iovaLink(IovaState state, long phys, long offset, long size, DmaDirection dir, int attrs);

    /** Makes links in {@code [offset, offset+size)} visible to the device: one IOTLB flush for a batch ({@code dma_iova_sync}). */
    void iovaSync(IovaState state, long offset, long size);

    /** Removes linked ranges in {@code [offset, offset+size)} with an immediate IOTLB invalidation; the IOVA stays reserved ({@code dma_iova_unlink}). */
    void iovaUnlink(IovaState state, long offset, long size, DmaDirection dir, int attrs);

    /**
     * Unlinks {@code [0, mappedLen)} and frees the IOVA in one step ({@code dma_iova_destroy});
     * {@code mappedLen == 0} only frees. Invalidation may be deferred (lazy mode). The state
     * is cleared.
     */
    void iovaDestroy(IovaState state, long mappedLen, DmaDirection dir, int attrs);

    /** Frees the reservation without unmapping ({@code dma_iova_free}); everything must already be unlinked. The state is cleared. */
    void iovaFree(IovaState state);

    // ---------------------------------------------------------------- queries

    /**
     * Whether DMA addresses from the classic calls must be kept for unmapping
     * ({@code dma_need_unmap}): false only for coherent dma-direct devices that have never
     * bounced and with DMA-debug off. Ask after the mappings that might bounce were made.
     */
    boolean needUnmap();

    /** Whether syncs on {@code dma} do anything ({@code dma_need_sync}). */
    boolean needSync(long dma);

    /**
     * Whether this device cannot reach all of RAM without help ({@code dma_addressing_limited}):
     * its mask is below {@link #requiredMask()}, or (a model difference, see the README's
     * Fidelity table) dma-direct bounces every mapping because memory is encrypted or
     * bouncing is forced. Long-lived mappings that CPU and device share (HMM mirrors) are
     * refused for such devices, since a bounced copy cannot stay in step with the page.
     */
    boolean addressingLimited();

    /** The largest size one mapping may have ({@code dma_max_mapping_size}); {@link Long#MAX_VALUE} for no limit. */
    long maxMappingSize();

    /** The largest size that maps without a slow path ({@code dma_opt_mapping_size}). */
    long optMappingSize();

    /** The boundary mask below which DMA segments can be merged ({@code dma_get_merge_boundary}); 0 when the backend never merges. */
    long mergeBoundary();

    /** The device's current streaming DMA mask ({@code dma_get_mask}). */
    long getMask();

    /**
     * Sets the streaming DMA mask ({@code dma_set_mask}).
     *
     * @throws IllegalArgumentException if the mask is not 2^n − 1, is wider than the
     *                                  device can drive, or the backend cannot honour it
     */
    void setMask(long mask);

    /** The device's current coherent mask. */
    long getCoherentMask();

    /** Sets the coherent mask ({@code dma_set_coherent_mask}); same rules as {@link #setMask}. */
    void setCoherentMask(long mask);

    /** The smallest mask that reaches all of RAM through this backend ({@code dma_get_required_mask}). */
    long requiredMask();

    /** The device's max DMA segment size ({@code dma_get_max_seg_size}). */
    long maxSegmentSize();

    /** The device's segment boundary mask ({@code dma_get_seg_boundary}); -1 for none. */
    long segmentBoundary();

    // ---------------------------------------------------------------- peer-to-peer

    /**
     * Classifies a physical address for this device ({@code pci_p2pdma_state}): ordinary RAM
     * gives {@link P2pMapType#NONE}; an address in a peer's memory BAR gives how this device
     * reaches it. Results are cached in {@code state} for consecutive addresses in the same
     * peer memory.
     */
    P2pMapType p2pMapType(P2pState state, long phys);
}
