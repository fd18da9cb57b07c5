/**
 * Discovery (module path, class path, a directory of extra provider jars in their own
 * module layer), Guice assembly, backend choice per device, dispatch with argument
 * validation, DMA-debug checks and statistics. The only module that knows Guice.
 */
module io.dma4j.runtime {
    requires transitive io.dma4j.spi;
    requires transitive com.google.guice;
    requires transitive jakarta.inject;
    // Guice is an automatic module and declares nothing it needs: require its explicit
    // dependencies here, so that an application with "requires io.dma4j.runtime" resolves them.
    requires com.google.common;
    requires org.objectweb.asm;
    requires com.fasterxml.jackson.databind;
    requires jdk.jfr;

    exports io.dma4j.runtime;
    opens io.dma4j.runtime to com.google.guice;

    uses io.dma4j.spi.DmaProvider;
}
