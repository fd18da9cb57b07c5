package io.dma4j.platform.description;

import io.dma4j.platform.Cpu;

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
 * @param cpu             the CPU's vendor and family ({@link Cpu#UNKNOWN} when not described)
 */
public record MachineDescription(String name, String source, List<MemoryRange> memory, boolean encryptedMemory,
                                 List<IommuUnit> iommus, List<FabricNode> fabric, List<DeviceSpec> devices, Cpu cpu) {
    public MachineDescription {
        memory = List.copyOf(memory);
        iommus = List.copyOf(iommus);
        fabric = List.copyOf(fabric);
        devices = List.copyOf(devices);
        java.util.Objects.requireNonNull(cpu, "cpu");
    }

    /** The same machine with other devices (everything else kept). */
    public MachineDescription withDevices(List<DeviceSpec> devices) {
        return new MachineDescription(name, source, memory, encryptedMemory, iommus, fabric, devices, cpu);
    }

    /** A DRAM range. */
    public record MemoryRange(long base, long size) {
    }

    /**
     * A fabric node (host bridge, root port, switch port).
     *
     * @param vendorId for a host bridge, its host bridge device's PCI vendor id, or -1
     * @param deviceId for a host bridge, its host bridge device's PCI device id, or -1
     */
    public record FabricNode(String name, PciNode.Kind kind, String parent, Acs acs, boolean p2pForwarding, long busOffset,
                             int vendorId, int deviceId) {
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
     * @param function   its function number (0..7) on a multi-function device below its port
     * @param physfn     for an SR-IOV virtual function, its physical function's name (then
     *                   {@code port} is the physical function's port); else {@code null}
     * @param acs        the function's own ACS (function ACS)
     */
    public record DeviceSpec(String name, String model, String port, DeviceAttributes attributes, String iommu,
                             int iommuGroup, List<BarSpec> bars, java.util.Map<String, String> modelOptions,
                             int function, String physfn, Acs acs) {
        public DeviceSpec {
            bars = List.copyOf(bars);
            modelOptions = java.util.Map.copyOf(modelOptions);
            acs = acs == null ? Acs.NONE : acs;
        }

        /** The same device in another IOMMU group. */
        public DeviceSpec withGroup(int group) {
            return new DeviceSpec(name, model, port, attributes, iommu, group, bars, modelOptions, function, physfn, acs);
        }

        /** The same device with other model options (everything else kept). */
        public DeviceSpec withModelOptions(java.util.Map<String, String> options) {
            return new DeviceSpec(name, model, port, attributes, iommu, iommuGroup, bars, options, function, physfn, acs);
        }
    }
}
