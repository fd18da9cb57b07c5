package io.dma4j.platform;

import io.dma4j.platform.device.Device;

import java.util.Map;

/**
 * The right to change a {@link Machine}: each device's {@link Device.Control} (masks,
 * translation attachment) and hot removal. A machine has exactly one, handed out once by
 * {@link Machine#claimControl()}; the runtime claims it when it takes the machine, so a
 * driver holding the same machine sees a read-only view and cannot forge masks or
 * translations.
 *
 * <p>Thread safety: safe for concurrent use.
 */
public final class MachineControl {
    private final Machine machine;
    private final Map<String, Device.Control> devices;
    private volatile boolean returned;

    MachineControl(Machine machine, Map<String, Device.Control> devices) {
        this.machine = machine;
        this.devices = Map.copyOf(devices);
    }

    /** The machine this controls. */
    public Machine machine() {
        return machine;
    }

    /**
     * The control of one device.
     *
     * @throws IllegalArgumentException when the machine has no such device
     */
    public Device.Control device(String name) {
        checkHeld();
        machine.device(name); // the machine's error for an unknown name
        return devices.get(name);
    }

    /**
     * Gives the control back to the machine (a runtime does this when it closes), so that
     * the next claimant can take it. This object is unusable afterwards. Idempotent.
     */
    public void giveBack() {
        if (!returned) {
            returned = true;
            machine.controlReturned();
        }
    }

    private void checkHeld() {
        if (returned) {
            throw new IllegalStateException("this control of machine " + machine.name() + " was given back");
        }
    }

    /**
     * Hot-removes a device (surprise removal): its DMA faults from now on, peers can no
     * longer reach its BARs, and the fabric's generation moves so that cached P2P
     * classifications are recomputed.
     *
     * @throws IllegalArgumentException when there is no such device
     */
    public void hotRemove(String name) {
        device(name).markRemoved(); // checks the control is still held
        machine.fabric().bumpGeneration();
    }
}
