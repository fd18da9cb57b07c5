package io.dma4j.spi;

import io.dma4j.platform.Machine;

import java.util.Objects;

/**
 * What a machine-wide role (bounce service, P2P classifier) gets when it is created.
 *
 * @param machine  the machine
 * @param settings the provider's settings
 */
public record RoleContext(Machine machine, ProviderSettings settings) {
    public RoleContext {
        Objects.requireNonNull(machine, "machine");
        Objects.requireNonNull(settings, "settings");
    }
}
