package com.example.fixedwindow;

/** The same rules through a dma4j runtime's whole chain (validation, DMA-debug throwing, statistics). */
class FixedWindowThroughTheChainConformanceTest extends FixedWindowConformanceTest {
    @Override
    protected Path path() {
        return Path.RUNTIME_CHAIN;
    }
}
