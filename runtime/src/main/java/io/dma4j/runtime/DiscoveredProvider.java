package io.dma4j.runtime;

import io.dma4j.spi.DmaProvider;

/**
 * A provider the runtime found, with where it came from.
 *
 * @param provider the provider
 * @param origin   how it was found: "module path", "class path", "extra jar" or "added"
 * @param location its module name and/or jar (for listings)
 */
public record DiscoveredProvider(DmaProvider provider, String origin, String location) {
    /** The provider's name. */
    public String name() {
        return provider.name();
    }
}
