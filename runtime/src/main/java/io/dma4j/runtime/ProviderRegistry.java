package io.dma4j.runtime;

import io.dma4j.spi.DmaRole;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The providers the runtime knows, in discovery order, each name once.
 *
 * <p>Thread safety: immutable.
 */
public final class ProviderRegistry {
    private final List<DiscoveredProvider> providers;

    /** @param providers discovered providers; names must be unique */
    public ProviderRegistry(List<DiscoveredProvider> providers) {
        List<DiscoveredProvider> checked = new ArrayList<>();
        for (DiscoveredProvider p : providers) {
            ProviderDiscovery.add(checked, p);
        }
        this.providers = List.copyOf(checked);
    }

    /** All providers. */
    public List<DiscoveredProvider> all() {
        return providers;
    }

    /** Provider names in discovery order. */
    public Set<String> names() {
        Set<String> names = new LinkedHashSet<>();
        for (DiscoveredProvider p : providers) {
            names.add(p.name());
        }
        return names;
    }

    /** The provider of that name, or {@code null}. */
    public DiscoveredProvider byName(String name) {
        for (DiscoveredProvider p : providers) {
            if (p.name().equals(name)) {
                return p;
            }
        }
        return null;
    }

    /** Providers that declare a role, highest priority first (ties: discovery order). */
    public List<DiscoveredProvider> withRole(DmaRole role) {
        List<DiscoveredProvider> out = new ArrayList<>();
        for (DiscoveredProvider p : providers) {
            if (p.provider().roles().contains(role)) {
                out.add(p);
            }
        }
        out.sort((a, b) -> Integer.compare(b.provider().priority(), a.provider().priority()));
        return out;
    }
}
