package io.dma4j.api;

/** How a physical address in a peer device's memory is reached ({@code enum pci_p2pdma_map_type}). */
public enum P2pMapType {
    /** Not peer memory: ordinary RAM, map as usual. */
    NONE,
    /** Peer memory that this device cannot reach (no usable path): the request fails. */
    NOT_SUPPORTED,
    /** Both devices share a switch: use the PCI bus address, bypassing IOMMU and bouncing. */
    BUS_ADDR,
    /** The path crosses the host bridge: map it like memory (through the IOMMU if any), with {@link DmaAttrs#MMIO}. */
    THRU_HOST_BRIDGE
}
