/** PCI peer-to-peer: distance and map type from the fabric, and peer memory. */
module io.dma4j.provider.p2p {
    requires io.dma4j.spi;

    provides io.dma4j.spi.DmaProvider with io.dma4j.provider.p2p.P2pProvider;
}
