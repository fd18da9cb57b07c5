package io.dma4j.platform;

import io.dma4j.platform.fault.FaultInjector;
import io.dma4j.platform.description.MachineDescription;
import io.dma4j.platform.description.MachineDescription.BarSpec;
import io.dma4j.platform.description.MachineDescription.DeviceSpec;
import io.dma4j.platform.description.MachineDescription.FabricNode;
import io.dma4j.platform.description.MachineDescription.MemoryRange;
import io.dma4j.platform.description.MachineDescriptionParser;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.device.DeviceModel;
import io.dma4j.platform.device.DeviceModelFactory;
import io.dma4j.platform.device.DmaPort;
import io.dma4j.platform.device.FaultLog;
import io.dma4j.platform.device.OffsetTranslation;
import io.dma4j.platform.device.RegisterFile;
import io.dma4j.platform.memory.PageAllocator;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.platform.memory.Region;
import io.dma4j.platform.memory.RegisterHandler;
import io.dma4j.platform.memory.SparseMemory;
import io.dma4j.platform.pci.Bar;
import io.dma4j.platform.pci.PciFabric;
import io.dma4j.platform.pci.PciNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * A simulated machine: DRAM and BARs in one physical address space, a page allocator,
 * the PCI fabric, IOMMU units and devices whose models move bytes through their DMA
 * ports. Built from a {@link MachineDescription}; memory is allocated only where written,
 * so building is cheap whatever the described size.
 *
 * <p>Thread safety: safe for concurrent use; the parts state their own rules.
 * {@link #close()} frees all simulated memory.
 */
public final class Machine implements AutoCloseable {
    private final MachineDescription description;
    private final PhysicalAddressSpace space;
    private final PageAllocator pages;
    private final PciFabric fabric;
    private final Map<String, Device> devices;
    private final Map<String, IommuUnit> iommus;
    private final FaultLog faults;
    private final Map<String, Device.Control> controls;
    private boolean controlClaimed;

    private final FaultInjector injector;

    private Machine(MachineDescription description, PhysicalAddressSpace space, PageAllocator pages, PciFabric fabric,
                    Map<String, Device> devices, Map<String, Device.Control> controls, Map<String, IommuUnit> iommus, FaultLog faults,
                    FaultInjector injector) {
        this.injector = injector;
        this.controls = controls;
        this.description = description;
        this.space = space;
        this.pages = pages;
        this.fabric = fabric;
        this.devices = devices;
        this.iommus = iommus;
        this.faults = faults;
    }

    /** Builds the built-in default machine. */
    public static Machine createDefault() {
        return create(MachineDescriptionParser.defaultDescription());
    }

    /**
     * Reads a description file and builds the machine.
     *
     * @throws io.dma4j.platform.description.MachineDescriptionException naming the file, path and problem
     */
    public static Machine load(Path file) {
        return create(MachineDescriptionParser.parse(file));
    }

    /** Builds a machine from a validated description; device models come from {@link ServiceLoader}. */
    public static Machine create(MachineDescription d) {
        List<DeviceModelFactory> factories = new ArrayList<>();
        ServiceLoader.load(DeviceModelFactory.class).forEach(factories::add);
        return create(d, factories);
    }

    /** Builds a machine with the given device-model factories (first match by model name wins). */
    public static Machine create(MachineDescription d, Collection<DeviceModelFactory> factories) {
        List<Region> regions = new ArrayList<>();
        try {
            int i = 0;
            for (MemoryRange m : d.memory()) {
                regions.add(new Region("dram" + i++, Region.Kind.DRAM, m.base(), m.size(), new SparseMemory(m.size(), m.base()), null));
            }
            Map<String, List<RegisterFile>> registerFiles = new HashMap<>();
            for (DeviceSpec s : d.devices()) {
                for (BarSpec b : s.bars()) {
                    String name = s.name() + ".bar" + b.index();
                    if (b.kind() == Bar.Kind.MEMORY) {
                        regions.add(new Region(name, Region.Kind.BAR_MEMORY, b.address(), b.size(), new SparseMemory(b.size(), b.address()), null));
                    } else {
                        RegisterFile rf = new RegisterFile(b.size());
                        registerFiles.computeIfAbsent(s.name(), k -> new ArrayList<>()).add(rf);
                        regions.add(new Region(name, Region.Kind.REGISTERS, b.address(), b.size(), null, rf));
                    }
                }
            }
            PhysicalAddressSpace space = new PhysicalAddressSpace(regions);
            PciFabric.Builder fb = PciFabric.builder();
            // the parser checks most fabric rules with their paths; the builder's own refusals
            // (a second link below one port, say) get the path of the entry here
            for (int fi = 0; fi < d.fabric().size(); fi++) {
                FabricNode n = d.fabric().get(fi);
                try {
                    fb.add(n.name(), n.kind(), n.parent(), n.acs(), n.p2pForwarding(), n.busOffset());
                    if (n.vendorId() >= 0) {
                        fb.hostBridgeIds(n.name(), n.vendorId(), n.deviceId());
                    }
                } catch (IllegalArgumentException e) {
                    throw new io.dma4j.platform.description.MachineDescriptionException(d.source(), "$.fabric[" + fi + "]", e.getMessage());
                }
            }
            Map<String, Integer> vfsOf = new HashMap<>();
            for (boolean virtualFunctions : new boolean[] {false, true}) { // physical functions first, whatever the order
                for (int di = 0; di < d.devices().size(); di++) {
                    DeviceSpec s = d.devices().get(di);
                    if (s.port() == null || (s.physfn() != null) != virtualFunctions) {
                        continue;
                    }
                    try {
                        if (s.physfn() == null) {
                            fb.addEndpoint(s.name(), s.port(), s.acs(), s.function());
                        } else {
                            fb.addVirtualFunction(s.name(), s.physfn(), vfsOf.merge(s.physfn(), 1, Integer::sum));
                        }
                    } catch (IllegalArgumentException e) {
                        throw new io.dma4j.platform.description.MachineDescriptionException(d.source(),
                                "$.devices[" + di + "]." + (s.physfn() == null ? "port" : "physfn"), e.getMessage());
                    }
                }
            }
            PciFabric fabric;
            try {
                fabric = fb.build();
            } catch (IllegalArgumentException e) {
                throw new io.dma4j.platform.description.MachineDescriptionException(d.source(), "$.devices", e.getMessage());
            }
            FaultLog faults = new FaultLog();
            FaultInjector injector = new FaultInjector();
            Map<String, IommuUnit> iommus = new LinkedHashMap<>();
            for (IommuUnit u : d.iommus()) {
                iommus.put(u.name(), u);
            }
            Map<String, Device> devices = new LinkedHashMap<>();
            Map<String, Device.Control> controls = new LinkedHashMap<>();
            for (DeviceSpec s : d.devices()) {
                PciNode slot = fabric.node(s.name());
                long busOffset = slot == null ? 0 : slot.hostBridge().busOffset();
                List<Bar> bars = new ArrayList<>();
                for (BarSpec b : s.bars()) {
                    bars.add(new Bar(s.name(), b.index(), b.address(), b.address() - busOffset, b.size(), b.kind()));
                }
                DmaPort port = new DmaPort(s.name(), space, faults, new OffsetTranslation(s.attributes().rangeOffset(), s.attributes().dmaMask()), injector);
                Device dev = new Device(s.name(), s.model(), s.attributes(), slot, bars, s.iommu(), s.iommuGroup(), port, s.modelOptions());
                devices.put(s.name(), dev);
                Device.Control control = dev.claimControl();
                controls.put(s.name(), control);
                for (DeviceModelFactory f : factories) {
                    if (f.model().equals(s.model())) {
                        DeviceModel model;
                        try {
                            model = f.create(dev, space);
                        } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
                            // a device model refusing its options: name the file and the path, as the parser does
                            throw new io.dma4j.platform.description.MachineDescriptionException(d.source(),
                                    "$.devices[" + d.devices().indexOf(s) + "].modelOptions", "device model " + s.model() + ": " + e.getMessage());
                        }
                        control.setBehaviour(model);
                        if (model instanceof RegisterHandler h) {
                            for (RegisterFile rf : registerFiles.getOrDefault(s.name(), List.of())) {
                                rf.attach(h);
                            }
                        }
                        break;
                    }
                }
            }
            FabricRouter router = new FabricRouter(devices, d.cpu());
            for (Device.Control c : controls.values()) {
                c.setRouter(router);
            }
            return new Machine(d, space, new PageAllocator(space.dram(), injector), fabric, devices, controls, iommus, faults, injector);
        } catch (RuntimeException | Error e) {
            for (Region r : regions) {
                if (r.memory() != null) {
                    r.memory().close();
                }
            }
            throw e;
        }
    }

    /** The machine's name. */
    public String name() {
        return description.name();
    }

    /** The description it was built from. */
    public MachineDescription description() {
        return description;
    }

    /** The CPU's view of physical memory and MMIO. */
    public PhysicalAddressSpace addressSpace() {
        return space;
    }

    /** The page allocator over DRAM. */
    public PageAllocator pageAllocator() {
        return pages;
    }

    /** The PCI fabric. */
    public PciFabric fabric() {
        return fabric;
    }

    /** All devices in description order. */
    public List<Device> devices() {
        return List.copyOf(devices.values());
    }

    /**
     * The device of that name.
     *
     * @throws IllegalArgumentException naming the known devices if there is none
     */
    public Device device(String name) {
        Device d = devices.get(name);
        if (d == null) {
            throw new IllegalArgumentException("no device '" + name + "' on machine '" + name() + "' (devices: " + String.join(", ", devices.keySet()) + ")");
        }
        return d;
    }

    /**
     * The BAR that holds a CPU physical address, or {@code null} (RAM, or nothing there).
     * Used to recognise peer memory.
     */
    public Bar barAt(long phys) {
        for (Device d : devices.values()) {
            for (Bar b : d.bars()) {
                if (b.containsCpu(phys)) {
                    return b;
                }
            }
        }
        return null;
    }

    /**
     * Hands out the machine's {@link MachineControl}, once: the right to change device
     * masks and translations and to hot-remove devices. The runtime claims it when it takes
     * the machine; a program that drives a machine without a runtime (a device-model test,
     * the conformance kit) claims it itself.
     *
     * @throws IllegalStateException when it was claimed already
     */
    public synchronized MachineControl claimControl() {
        if (controlClaimed) {
            throw new IllegalStateException("the control of machine " + name() + " was claimed already (a DmaRuntime that took this machine holds it)");
        }
        controlClaimed = true;
        return new MachineControl(this, controls);
    }

    /** Called by {@link MachineControl#giveBack()}. */
    synchronized void controlReturned() {
        controlClaimed = false;
    }

    /** IOMMU units in description order. */
    public List<IommuUnit> iommus() {
        return List.copyOf(iommus.values());
    }

    /** The IOMMU unit a device sits behind, or {@code null}. */
    public IommuUnit iommuOf(Device device) {
        return device.iommu() == null ? null : iommus.get(device.iommu());
    }

    /** The CPU's vendor and family as the description names them ({@link Cpu#UNKNOWN} otherwise). */
    public Cpu cpu() {
        return description.cpu();
    }

    /** Whether memory encryption is on (all streaming DMA must bounce through shared memory). */
    public boolean encryptedMemory() {
        return description.encryptedMemory();
    }

    /** The machine's fault log. */
    public FaultLog faultLog() {
        return faults;
    }

    /**
     * The machine's fault injector: every failure point of the machine, its devices and the
     * providers and drivers running on it ({@code dma4j.fail.*}); all off until set.
     */
    public FaultInjector faultInjector() {
        return injector;
    }

    /** Frees all simulated memory; the machine must not be used afterwards. Idempotent. */
    @Override
    public void close() {
        for (Device d : devices.values()) {
            DeviceModel m = d.behaviour();
            if (m != null) {
                m.close();
            }
        }
        for (Region r : space.regions()) {
            if (r.memory() != null) {
                r.memory().close();
            }
        }
    }

    @Override
    public String toString() {
        return "machine " + name() + " (" + description.source() + ")";
    }
}
