package io.dma4j.platform.device;

import io.dma4j.platform.memory.PhysicalAddressSpace;

/**
 * Creates device models by name; found with {@link java.util.ServiceLoader} so that modules
 * outside the platform (the NVMe controller, the RNIC) can supply models. A device whose
 * model no factory knows still exists, with passive BARs.
 */
public interface DeviceModelFactory {
    /** The model name used in machine descriptions ("copy-engine"). */
    String model();

    /**
     * Creates the model for one device.
     *
     * @param device the device (its BARs, DMA port and attributes)
     * @param cpu    the physical address space, for models that also act on MMIO
     * @return the model; if it implements {@link io.dma4j.platform.memory.RegisterHandler}
     *         it receives the accesses to the device's register BARs
     */
    DeviceModel create(Device device, PhysicalAddressSpace cpu);
}
