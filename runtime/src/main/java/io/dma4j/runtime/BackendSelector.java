package io.dma4j.runtime;

import java.util.List;

import io.dma4j.platform.Machine;
import io.dma4j.platform.device.Device;
import io.dma4j.spi.DmaRole;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

/**
 * Chooses each device's mapping backend: the provider named by {@code dma4j.backend.<device>}
 * or {@code dma4j.backend} when configured, else the highest-priority provider whose
 * {@link io.dma4j.spi.DmaProvider#canServe} accepts the device. With the providers of this
 * repository that is the kernel's rule: the IOMMU backend for devices behind a translating
 * IOMMU unit, dma-direct otherwise.
 *
 * <p>Thread safety: stateless after construction.
 */
@Singleton
public final class BackendSelector {
    private final Machine machine;
    private final RuntimeConfig config;
    private final ProviderRegistry registry;

    @Inject
    BackendSelector(Machine machine, RuntimeConfig config, ProviderRegistry registry) {
        this.machine = machine;
        this.config = config;
        this.registry = registry;
    }

    /**
     * The provider that maps for {@code device}.
     *
     * @throws DmaConfigurationException when the configured provider does not exist, is
     *                                    not a mapping backend or cannot serve the device,
     *                                    or when no provider can
     */
    public DiscoveredProvider select(Device device) {
        String wanted = config.backendFor(device.name());
        if (wanted != null) {
            DiscoveredProvider p = registry.byName(wanted);
            String key = config.get(RuntimeConfig.BACKEND + "." + device.name()) != null ? RuntimeConfig.BACKEND + "." + device.name() : RuntimeConfig.BACKEND;
            if (p == null || !p.provider().roles().contains(DmaRole.MAPPING_BACKEND)) {
                throw new DmaConfigurationException("configuration " + key + "=" + wanted + ": "
                        + (p == null ? "no provider of that name" : "provider " + wanted + " is not a mapping backend")
                        + " (mapping backends: " + RoleWiring.names(registry.withRole(DmaRole.MAPPING_BACKEND)) + ")");
            }
            if (!p.provider().canServe(machine, device)) {
                throw new DmaConfigurationException("configuration " + key + "=" + wanted + ": provider " + wanted + " cannot serve device " + device.name()
                        + (device.iommu() == null ? " (not behind an IOMMU)" : " (behind IOMMU " + device.iommu() + ")"));
            }
            return p;
        }
        for (DiscoveredProvider p : registry.withRole(DmaRole.MAPPING_BACKEND)) {
            if (p.provider().canServe(machine, device)) {
                return p;
            }
        }
        List<DiscoveredProvider> backends = registry.withRole(DmaRole.MAPPING_BACKEND);
        throw new DmaConfigurationException("no mapping backend can serve device " + device.name() + " (mapping backends: "
                + RoleWiring.names(backends) + ")" + (backends.isEmpty() ? ": " + DmaRuntime.NO_BACKEND_ADVICE : ""));
    }
}
