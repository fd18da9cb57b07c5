package io.dma4j.conformance;

import io.dma4j.spi.BounceService;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.DmaRole;
import io.dma4j.spi.DmaSpi;
import io.dma4j.spi.ReferenceBounceService;
import io.dma4j.spi.RoleContext;

import java.util.Set;

/** The SPI's reference bounce service as a provider, for the kit's runtime-chain runs. */
final class ReferenceBounceProvider implements DmaProvider {
    @Override
    public String name() {
        return "kit-reference-bounce";
    }

    @Override
    public String spiVersion() {
        return DmaSpi.VERSION;
    }

    @Override
    public Set<DmaRole> roles() {
        return Set.of(DmaRole.BOUNCE_SERVICE);
    }

    @Override
    public BounceService createBounceService(RoleContext context) {
        return new ReferenceBounceService(context.machine());
    }
}
