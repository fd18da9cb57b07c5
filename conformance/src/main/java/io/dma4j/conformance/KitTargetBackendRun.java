package io.dma4j.conformance;

import io.dma4j.spi.DmaProvider;

import java.util.Set;

/** {@link MappingBackendContract} against the provider set in {@link KitTarget} (for launcher runs). */
public class KitTargetBackendRun extends MappingBackendContract {
    @Override
    protected DmaProvider provider() {
        return KitTarget.provider();
    }

    @Override
    protected Set<Capability> capabilities() {
        return KitTarget.capabilities();
    }
}
