/**
 * What drivers call: the kernel's DMA mapping API (classic and two-step IOVA calls) in
 * Java form, one {@link io.dma4j.api.DmaMapper} per device.
 */
module io.dma4j.api {
    requires transitive io.dma4j.platform;

    exports io.dma4j.api;
    exports io.dma4j.api.internal to io.dma4j.spi;
}
