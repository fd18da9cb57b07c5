/** The dma-direct mapping backend: bus address = physical address + range offset, bouncing when out of reach. */
module io.dma4j.provider.direct {
    requires io.dma4j.spi;

    provides io.dma4j.spi.DmaProvider with io.dma4j.provider.direct.DirectProvider;
}
