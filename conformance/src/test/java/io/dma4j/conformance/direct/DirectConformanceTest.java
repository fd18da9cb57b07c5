package io.dma4j.conformance.direct;

import io.dma4j.provider.direct.DirectProvider;

import io.dma4j.conformance.MappingBackendContract;
import io.dma4j.spi.DmaProvider;

/** dma-direct runs the kit's mapping-backend contract (no optional capabilities). */
class DirectConformanceTest extends MappingBackendContract {
    @Override
    protected DmaProvider provider() {
        return new DirectProvider();
    }
}
