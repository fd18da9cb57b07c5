package io.dma4j.platform.description;

import io.dma4j.platform.IommuUnit;
import io.dma4j.platform.device.DeviceAttributes;
import io.dma4j.platform.pci.Acs;
import io.dma4j.platform.pci.Bar;
import io.dma4j.platform.pci.PciNode;

import java.util.List;

/**
 * A validated machine description: what {@link MachineDescriptionParser} reads from JSON
 * and {@link io.dma4j.platform.Machine#create} builds. All references inside it (parents,
 * ports, IOMMU units) resolve and no two address ranges overlap.
 *
 * @param name            the machine's name
 * @param source          where it was read from (a file, or "built-in default")
 * @param memory          DRAM ranges
 * @param encryptedMemory memory encryption (SEV/TDX-like): all streaming DMA must bounce
 * @param iommus          IOMMU units
 * @param fabric          PCI fabric nodes, parents first (endpoints are implied by devices)
 * @param devices         devices
 */
public record MachineDescription(String name, String source, List<MemoryRange> memory, boolean encryptedMemory,
                                 List<IommuUnit> iommus, List<FabricNode> fabric, List<DeviceSpec> devices) {
    public MachineDescription {
        memory = List.copyOf(memory);
        iommus = List.copyOf(iommus);
        fabric = List.copyOf(fabric);
        devices = List.copyOf(devices);
    }

    /** A DRAM range. */
    public record MemoryRange(long base, long size) {
    }

    /** A fabric node (host bridge, root port, switch port). */
    public record FabricNode(String name, PciNode.Kind kind, String parent, Acs acs, boolean p2pForwarding, long busOffset) {
    }

    /** A BAR of a device; {@code address} is the CPU physical address. */
    public record BarSpec(int index, Bar.Kind kind, long address, long size) {
    }

    /**
     * A device.
     *
     * @param port       the fabric port it sits below, or {@code null} for a platform device
     * @param iommu      the IOMMU unit it sits behind, or {@code null}
     * @param iommuGroup its group number, or -1 to number groups automatically
     * @param modelOptions options for the device model (strings)
     */
    public record DeviceSpec(String name, String model, String port, DeviceAttributes attributes, String iommu,
                             int iommuGroup, List<BarSpec> bars, java.util.Map<String, String> modelOptions) {
        public DeviceSpec {
            bars = List.copyOf(bars);
            modelOptions = java.util.Map.copyOf(modelOptions);
        }
    }
}
