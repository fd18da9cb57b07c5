/**
 * The simulated machine: sparse off-heap physical memory, a buddy page allocator, the
 * physical address space with DRAM and PCI BARs, the PCI fabric, devices with their DMA
 * ports and fault log, device models, and the machine description (JSON).
 * Depends on nothing of dma4j.
 */
module io.dma4j.platform {
    requires com.fasterxml.jackson.databind;
    requires jdk.jfr;

    exports io.dma4j.platform;
    exports io.dma4j.platform.memory;
    exports io.dma4j.platform.pci;
    exports io.dma4j.platform.device;
    exports io.dma4j.platform.description;
    exports io.dma4j.platform.fault;

    uses io.dma4j.platform.device.DeviceModelFactory;
    provides io.dma4j.platform.device.DeviceModelFactory with io.dma4j.platform.device.CopyEngine.Factory;
}
