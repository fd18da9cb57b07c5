package io.dma4j.platform.device;

/**
 * The behaviour of a device: what it does when a driver writes its registers. A model
 * reaches memory only through its device's {@link DmaPort} and reports faults as status,
 * as hardware does.
 */
public interface DeviceModel {
    /** The device this model drives. */
    Device device();

    /** Returns the device to its power-on state (registers cleared, no work pending). */
    void reset();

    /** Releases what the model holds (its storage, files); called when the machine closes. */
    default void close() {
    }
}
