package io.dma4j.spi;

import io.dma4j.platform.Machine;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.device.DmaTranslation;

import java.util.Objects;

/**
 * What a mapping backend gets when it takes a device: the machine, the device, the right to
 * attach a translation to the device's DMA port, the other roles as the runtime wired them
 * (either may be absent), and its settings. The runtime (or a test building a backend
 * through the SPI, as the conformance kit does) makes it from the device's
 * {@link Device.Control}, which only the holder of the machine's control has.
 *
 * <p>Thread safety: immutable; the translation calls are safe from any thread.
 */
public final class BackendContext {
    private final Machine machine;
    private final Device.Control control;
    private final BounceService bounce;
    private final P2pClassifier p2p;
    private final ProviderSettings settings;
    private final DmaClock clock;

    /** As {@link #BackendContext(Machine, Device.Control, BounceService, P2pClassifier, ProviderSettings, DmaClock)} with the {@link DmaClock#SYSTEM} clock. */
    public BackendContext(Machine machine, Device.Control control, BounceService bounce, P2pClassifier p2p, ProviderSettings settings) {
        this(machine, control, bounce, p2p, settings, DmaClock.SYSTEM);
    }

    /**
     * @param machine  the machine
     * @param control  the control of the device to map for
     * @param bounce   the bounce-buffer service, or {@code null} when no provider fills that role
     * @param p2p      the P2P classifier, or {@code null} when no provider fills that role
     * @param settings this provider's settings
     * @param clock    the clock for timers and time readings
     */
    public BackendContext(Machine machine, Device.Control control, BounceService bounce, P2pClassifier p2p, ProviderSettings settings, DmaClock clock) {
        this.machine = Objects.requireNonNull(machine, "machine");
        this.control = Objects.requireNonNull(control, "control");
        this.bounce = bounce;
        this.p2p = p2p;
        this.settings = Objects.requireNonNull(settings, "settings");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** The clock to use for every time reading and timer. */
    public DmaClock clock() {
        return clock;
    }

    /** The machine. */
    public Machine machine() {
        return machine;
    }

    /** The device to map for. */
    public Device device() {
        return control.device();
    }

    /** The bounce-buffer service, or {@code null}. */
    public BounceService bounce() {
        return bounce;
    }

    /** The P2P classifier, or {@code null}. */
    public P2pClassifier p2p() {
        return p2p;
    }

    /** This provider's settings. */
    public ProviderSettings settings() {
        return settings;
    }

    /** Makes the device's DMA port translate through {@code translation} (an IOMMU domain, a vendor's table). */
    public void attachTranslation(DmaTranslation translation) {
        control.attach(translation);
    }

    /** Restores the device's own translation (identity plus its range offset). */
    public void detachTranslation() {
        control.detach();
    }
}
