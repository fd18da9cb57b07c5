/** dmactl: the command line of dma4j (providers, machine, map-bench). */
module io.dma4j.cli {
    requires io.dma4j.runtime;
    requires info.picocli;
    requires com.fasterxml.jackson.databind;

    opens io.dma4j.cli to info.picocli;
}
