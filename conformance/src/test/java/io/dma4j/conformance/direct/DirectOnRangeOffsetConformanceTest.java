package io.dma4j.conformance.direct;

import io.dma4j.conformance.KitMachine;
import io.dma4j.platform.Machine;

/** dma-direct on the kit machine {@link KitMachine#RANGE_OFFSET}. */
class DirectOnRangeOffsetConformanceTest extends DirectConformanceTest {
    @Override
    protected Machine createMachine() {
        return KitMachine.RANGE_OFFSET.create();
    }
}
