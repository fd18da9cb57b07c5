package io.dma4j.conformance.direct;

/** dma-direct through a runtime's whole chain with DMA-debug throwing: the kit uses the API as DMA-debug expects. */
class DirectThroughTheChainConformanceTest extends DirectConformanceTest {
    @Override
    protected Path path() {
        return Path.RUNTIME_CHAIN;
    }
}
