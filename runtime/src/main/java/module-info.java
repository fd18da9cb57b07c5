/**
 * Discovery (module path, class path, a directory of extra provider jars in their own
 * module layer), Guice assembly, backend choice per device, dispatch with argument
 * validation, DMA-debug checks and statistics. The only module that knows Guice.
 */
module io.dma4j.runtime {
    requires transitive io.dma4j.spi;
    requires transitive com.google.guice;
    requires transitive jakarta.inject;
    requires com.fasterxml.jackson.databind;

    exports io.dma4j.runtime;
    opens io.dma4j.runtime to com.google.guice;

    uses io.dma4j.spi.DmaProvider;
}
