package com.example.fixedwindow;

import io.dma4j.conformance.Capability;
import io.dma4j.conformance.MappingBackendContract;
import io.dma4j.spi.DmaProvider;

import java.util.Set;

/** What a vendor writes to run the kit in its own build: one class, one factory, its capabilities. */
class FixedWindowConformanceTest extends MappingBackendContract {
    @Override
    protected DmaProvider provider() {
        return new FixedWindowProvider();
    }

    @Override
    protected Set<Capability> capabilities() {
        return Set.of(Capability.TRANSLATES);
    }
}
