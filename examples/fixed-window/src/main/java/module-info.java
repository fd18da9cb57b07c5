/** An example vendor provider: a fixed-window, single-level translation unit. */
module com.example.fixedwindow {
    requires io.dma4j.spi;

    provides io.dma4j.spi.DmaProvider with com.example.fixedwindow.FixedWindowProvider;
}
