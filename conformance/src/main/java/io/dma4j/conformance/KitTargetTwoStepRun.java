package io.dma4j.conformance;

import io.dma4j.spi.DmaProvider;

import java.util.Set;

/** {@link TwoStepContract} against the provider set in {@link KitTarget} (for launcher runs). */
public class KitTargetTwoStepRun extends TwoStepContract {
    @Override
    protected DmaProvider provider() {
        return KitTarget.provider();
    }

    @Override
    protected Set<Capability> capabilities() {
        return KitTarget.capabilities();
    }
}
