package io.dma4j.runtime;

import io.dma4j.platform.Machine;
import io.dma4j.spi.BounceService;
import io.dma4j.spi.DmaRole;
import io.dma4j.spi.P2pClassifier;
import io.dma4j.spi.RoleContext;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import java.util.List;

/**
 * The machine-wide roles: one bounce-buffer service and one P2P classifier, each from the
 * configured provider ({@code dma4j.bounce}, {@code dma4j.p2p}; {@code none} for none) or
 * else the highest-priority provider of that role. Either may be absent.
 *
 * <p>Thread safety: immutable after construction.
 */
@Singleton
public final class RoleWiring {
    private final DiscoveredProvider bounceProvider;
    private final DiscoveredProvider p2pProvider;
    private final BounceService bounce;
    private final P2pClassifier p2p;

    @Inject
    RoleWiring(Machine machine, RuntimeConfig config, ProviderRegistry registry) {
        this.bounceProvider = choose(registry, DmaRole.BOUNCE_SERVICE, RuntimeConfig.BOUNCE, config);
        this.p2pProvider = choose(registry, DmaRole.P2P_CLASSIFIER, RuntimeConfig.P2P, config);
        this.bounce = bounceProvider == null ? null
                : bounceProvider.provider().createBounceService(new RoleContext(machine, config.settingsFor(bounceProvider.name())));
        this.p2p = p2pProvider == null ? null
                : p2pProvider.provider().createP2pClassifier(new RoleContext(machine, config.settingsFor(p2pProvider.name())));
    }

    private static DiscoveredProvider choose(ProviderRegistry registry, DmaRole role, String key, RuntimeConfig config) {
        String wanted = config.get(key);
        if ("none".equals(wanted)) {
            return null;
        }
        if (wanted != null) {
            DiscoveredProvider p = registry.byName(wanted);
            if (p == null || !p.provider().roles().contains(role)) {
                throw new DmaConfigurationException("configuration " + key + "=" + wanted + ": "
                        + (p == null ? "no provider of that name" : "provider " + wanted + " does not fill the role " + role)
                        + " (providers of " + role + ": " + names(registry.withRole(role)) + ", or none)");
            }
            return p;
        }
        List<DiscoveredProvider> candidates = registry.withRole(role);
        return candidates.isEmpty() ? null : candidates.getFirst();
    }

    static String names(List<DiscoveredProvider> ps) {
        StringBuilder sb = new StringBuilder();
        for (DiscoveredProvider p : ps) {
            sb.append(sb.isEmpty() ? "" : ", ").append(p.name());
        }
        return sb.isEmpty() ? "(none)" : sb.toString();
    }

    /** The bounce-buffer service, or {@code null}. */
    public BounceService bounce() {
        return bounce;
    }

    /** The provider of the bounce role, or {@code null}. */
    public DiscoveredProvider bounceProvider() {
        return bounceProvider;
    }

    /** The P2P classifier, or {@code null}. */
    public P2pClassifier p2p() {
        return p2p;
    }

    /** The provider of the P2P role, or {@code null}. */
    public DiscoveredProvider p2pProvider() {
        return p2pProvider;
    }
}
