package io.dma4j.platform.device;

import io.dma4j.platform.pci.Bar;
import io.dma4j.platform.pci.PciNode;

import java.util.List;
import java.util.Objects;

/**
 * A DMA-capable device of the machine: its described attributes, its current DMA masks,
 * its place in the PCI fabric, its BARs, its IOMMU unit and group, its {@link DmaPort} and
 * the device model that gives it behaviour.
 *
 * <p>What drivers see is read-only. Changing a device (its masks, the translation on its
 * port, hot removal) takes its {@link Control}, which the {@link io.dma4j.platform.Machine}
 * claims when it builds the device and hands on only through
 * {@link io.dma4j.platform.MachineControl}: the runtime changes masks for
 * {@code DmaMapper.setMask} ({@code dma_set_mask}) and gives a mapping backend the right to
 * attach a translation.
 *
 * <p>Thread safety: safe for concurrent use; masks are volatile.
 */
public final class Device {
    private final String name;
    private final String model;
    private final DeviceAttributes attributes;
    private final PciNode slot;
    private final List<Bar> bars;
    private final String iommu;
    private final int iommuGroup;
    private final DmaPort port;
    private volatile long dmaMask;
    private volatile long coherentMask;
    private volatile DeviceModel behaviour;
    private volatile boolean removed;
    private volatile boolean memoryDecode = true;
    private volatile boolean controlClaimed;
    private final java.util.Map<String, String> modelOptions;

    /**
     * @param name       unique name
     * @param model      the device-model name from the description ("copy-engine", "nvme", ...)
     * @param attributes described DMA attributes
     * @param slot       the fabric node the device sits below (its endpoint), or {@code null}
     * @param bars       its BARs
     * @param iommu      the IOMMU unit it sits behind, or {@code null}
     * @param iommuGroup its IOMMU group number (-1 when not behind an IOMMU)
     * @param port       its DMA port
     */
    public Device(String name, String model, DeviceAttributes attributes, PciNode slot, List<Bar> bars,
                  String iommu, int iommuGroup, DmaPort port) {
        this(name, model, attributes, slot, bars, iommu, iommuGroup, port, java.util.Map.of());
    }

    /**
     * As above, with options for the device model from the description's {@code modelOptions}.
     */
    public Device(String name, String model, DeviceAttributes attributes, PciNode slot, List<Bar> bars,
                  String iommu, int iommuGroup, DmaPort port, java.util.Map<String, String> modelOptions) {
        this.modelOptions = java.util.Map.copyOf(modelOptions);
        this.name = Objects.requireNonNull(name);
        this.model = Objects.requireNonNull(model);
        this.attributes = Objects.requireNonNull(attributes);
        this.slot = slot;
        this.bars = List.copyOf(bars);
        this.iommu = iommu;
        this.iommuGroup = iommuGroup;
        this.port = Objects.requireNonNull(port);
        this.dmaMask = attributes.dmaMask();
        this.coherentMask = attributes.coherentMask();
    }

    public String name() {
        return name;
    }

    /** Options for the device model from the description ({@code "modelOptions": {"key": "value"}}). */
    public java.util.Map<String, String> modelOptions() {
        return modelOptions;
    }

    /** The device-model name from the description. */
    public String model() {
        return model;
    }

    public DeviceAttributes attributes() {
        return attributes;
    }

    /** The device's endpoint node in the PCI fabric, or {@code null} for a platform device. */
    public PciNode slot() {
        return slot;
    }

    public List<Bar> bars() {
        return bars;
    }

    /** The BAR with that index. @throws IllegalArgumentException naming the device if there is none */
    public Bar bar(int index) {
        for (Bar b : bars) {
            if (b.index() == index) {
                return b;
            }
        }
        throw new IllegalArgumentException("device " + name + " has no BAR " + index);
    }

    /** The IOMMU unit the device sits behind, or {@code null}. */
    public String iommu() {
        return iommu;
    }

    /** The IOMMU group (-1 when not behind an IOMMU). */
    public int iommuGroup() {
        return iommuGroup;
    }

    public DmaPort port() {
        return port;
    }

    /** The current streaming DMA mask. */
    public long dmaMask() {
        return dmaMask;
    }

    /** The current coherent DMA mask. */
    public long coherentMask() {
        return coherentMask;
    }

    /** The device model giving this device behaviour, or {@code null} when none is loaded. */
    public DeviceModel behaviour() {
        return behaviour;
    }

    /** Whether the device was hot-removed: its DMA and its BARs no longer work. */
    public boolean memoryDecode() {
        return memoryDecode;
    }

    /**
     * Sets the memory space enable bit of the device's command register: when off, its memory
     * BARs claim no access, so a peer's DMA into them faults ({@link FaultReason#DECODE_OFF}).
     * Any driver bound to the device may write it (VFIO does on behalf of its user).
     */
    public void setMemoryDecode(boolean enabled) {
        memoryDecode = enabled;
    }

    /** Whether the device was hot-removed. */
    public boolean removed() {
        return removed;
    }

    /**
     * Hands out the device's {@link Control}, once. The machine claims it when it builds
     * the device; nobody else can.
     *
     * @throws IllegalStateException when it was claimed already
     */
    public synchronized Control claimControl() {
        if (controlClaimed) {
            throw new IllegalStateException("the control of device " + name + " was claimed already (by the machine that built it)");
        }
        controlClaimed = true;
        return new Control(this);
    }

    /**
     * The right to change a device: its masks, its port's translation and router, its
     * device model, its removal. Only one exists per device.
     *
     * <p>Thread safety: safe for concurrent use.
     */
    public static final class Control {
        private final Device device;

        private Control(Device device) {
            this.device = device;
        }

        /** The device this controls. */
        public Device device() {
            return device;
        }

        /**
         * Sets the streaming DMA mask.
         *
         * @throws IllegalArgumentException if {@code mask} is not of the form 2^n − 1 or is 0
         */
        public void setDmaMask(long mask) {
            device.dmaMask = device.checkMask(mask);
        }

        /** Sets the coherent DMA mask. @throws IllegalArgumentException as {@link #setDmaMask} */
        public void setCoherentMask(long mask) {
            device.coherentMask = device.checkMask(mask);
        }

        /** Attaches a translation to the device's port (what a mapping backend does when it takes the device). */
        public void attach(DmaTranslation translation) {
            device.port.attach(translation);
        }

        /** Restores the translation the device's port started with. */
        public void detach() {
            device.port.detach();
        }

        /** Sets how the fabric routes the device's peer traffic. */
        public void setRouter(PeerRouter router) {
            device.port.setRouter(router);
        }

        /** Installs the device model. */
        public void setBehaviour(DeviceModel model) {
            device.behaviour = model;
        }

        /** Marks the device hot-removed. */
        public void markRemoved() {
            device.removed = true;
        }
    }

    private long checkMask(long mask) {
        if (mask == 0 || !DeviceAttributes.isMask(mask)) {
            throw new IllegalArgumentException(String.format("%s: DMA mask 0x%x (expected: 2^n - 1 with n in 1..64)", name, mask));
        }
        return mask;
    }

    @Override
    public String toString() {
        return name + " (" + model + ")";
    }
}
