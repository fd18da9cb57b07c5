package io.dma4j.conformance.direct;

import io.dma4j.provider.direct.DirectProvider;

import io.dma4j.conformance.TwoStepContract;
import io.dma4j.spi.DmaProvider;

/** dma-direct has no IOVA space: every two-step test is reported skipped, with the reason. */
class DirectTwoStepConformanceTest extends TwoStepContract {
    @Override
    protected DmaProvider provider() {
        return new DirectProvider();
    }
}
