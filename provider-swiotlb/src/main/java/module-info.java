/** swiotlb: bounce buffers in 2 KiB slots with the kernel's alignment rules and copy directions. */
module io.dma4j.provider.swiotlb {
    requires io.dma4j.spi;
    requires jdk.jfr;

    provides io.dma4j.spi.DmaProvider with io.dma4j.provider.swiotlb.SwiotlbProvider;
}
