package io.dma4j.conformance;

import io.dma4j.spi.DmaProvider;

/** {@link BounceServiceContract} against the provider set in {@link KitTarget} (for launcher runs). */
public class KitTargetBounceRun extends BounceServiceContract {
    @Override
    protected DmaProvider provider() {
        return KitTarget.provider();
    }
}
