package io.dma4j.api;

import io.dma4j.platform.device.Device;

import java.util.List;

/**
 * Peer-to-peer memory: BAR regions a device offers to its peers (an NVMe controller
 * memory buffer, a GPU-like aperture), page-granular allocation from them, and the search
 * for the closest published memory for a set of clients (the kernel's
 * {@code pci_p2pdma_add_resource}, {@code pci_alloc_p2pmem}, {@code pci_p2pmem_find_many}).
 * Addresses are CPU physical addresses of the BAR; map them for a client with the
 * {@link DmaMapper} calls, which classify them with {@link DmaMapper#p2pMapType}.
 *
 * <p>Thread safety: implementations are safe for concurrent use.
 */
public interface PeerMemoryAllocator {
    /**
     * Registers {@code size} bytes of a memory BAR, from {@code offset}, as peer memory and
     * publishes it ({@code size == 0}: the rest of the BAR).
     *
     * @throws IllegalArgumentException when the BAR is not memory or the range leaves it
     */
    void publish(Device provider, int bar, long offset, long size);

    /**
     * Allocates whole pages of a provider's peer memory.
     *
     * @return the CPU physical address of the first byte
     * @throws DmaMappingException when the provider has not enough free peer memory (or was removed)
     */
    long alloc(Device provider, long size);

    /** Frees what {@link #alloc} returned. @throws IllegalArgumentException when it was not allocated */
    void free(Device provider, long phys, long size);

    /** Free peer-memory bytes of a provider (0 when it has none). */
    long available(Device provider);

    /**
     * The kernel's {@code pci_p2pdma_distance_many}: the sum of the provider's distances to
     * each client, or -1 when any client cannot reach it.
     */
    int distance(Device provider, List<Device> clients);

    /**
     * The provider of published peer memory closest to all clients ({@code pci_p2pmem_find_many}),
     * ties broken at random as the kernel does; {@code null} when none can serve them all.
     */
    Device findBest(List<Device> clients);
}
