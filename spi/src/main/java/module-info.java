/**
 * What providers implement: the {@link io.dma4j.spi.DmaProvider} service and its roles
 * (mapping backend, bounce-buffer service, P2P classifier). No Guice types: a vendor
 * provider needs nothing but this module.
 */
module io.dma4j.spi {
    requires transitive io.dma4j.api;

    exports io.dma4j.spi;
}
