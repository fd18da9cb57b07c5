package io.dma4j.spi;

import io.dma4j.platform.Machine;
import io.dma4j.platform.device.Device;

import java.util.Objects;

/**
 * What a mapping backend gets when it takes a device: the machine, the device, the other
 * roles as the runtime wired them (either may be absent), and its settings.
 *
 * @param machine  the machine
 * @param device   the device to map for
 * @param bounce   the bounce-buffer service, or {@code null} when no provider fills that role
 * @param p2p      the P2P classifier, or {@code null} when no provider fills that role
 * @param settings this provider's settings
 */
public record BackendContext(Machine machine, Device device, BounceService bounce, P2pClassifier p2p, ProviderSettings settings) {
    public BackendContext {
        Objects.requireNonNull(machine, "machine");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(settings, "settings");
    }
}
