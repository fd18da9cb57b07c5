package io.dma4j.conformance.direct;

import io.dma4j.conformance.KitMachine;
import io.dma4j.platform.Machine;

/** dma-direct on the kit machine {@link KitMachine#MIN_ALIGN_4K}. */
class DirectOnMinAlign4kConformanceTest extends DirectConformanceTest {
    @Override
    protected Machine createMachine() {
        return KitMachine.MIN_ALIGN_4K.create();
    }
}
