package io.dma4j.provider.swiotlb;

import io.dma4j.conformance.BounceServiceContract;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.ProviderSettings;

import java.util.Map;

/** swiotlb runs the kit's bounce-service contract (a 4 MiB pool keeps the exhaustion test short). */
class SwiotlbConformanceTest extends BounceServiceContract {
    @Override
    protected DmaProvider provider() {
        return new SwiotlbProvider();
    }

    @Override
    protected ProviderSettings settings() {
        return new ProviderSettings(Map.of("size", "4MiB"));
    }
}
