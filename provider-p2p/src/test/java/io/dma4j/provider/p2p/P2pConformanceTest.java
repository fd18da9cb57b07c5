package io.dma4j.provider.p2p;

import io.dma4j.conformance.P2pClassifierContract;
import io.dma4j.spi.DmaProvider;

/** The P2P provider runs the kit's classifier contract. */
class P2pConformanceTest extends P2pClassifierContract {
    @Override
    protected DmaProvider provider() {
        return new P2pProvider();
    }
}
