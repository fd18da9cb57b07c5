package io.dma4j.conformance;

import io.dma4j.spi.DmaProvider;

/** {@link P2pClassifierContract} against the provider set in {@link KitTarget} (for launcher runs). */
public class KitTargetP2pRun extends P2pClassifierContract {
    @Override
    protected DmaProvider provider() {
        return KitTarget.provider();
    }
}
