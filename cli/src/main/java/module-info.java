/** dmactl: the command line of dma4j (providers, machine, map-bench). */
module io.dma4j.cli {
    requires io.dma4j.runtime;
    requires info.picocli;
    requires com.fasterxml.jackson.databind;
    requires HdrHistogram;
    requires jdk.jfr;
    requires org.jsoup;
    requires io.dma4j.conformance;
    requires io.dma4j.consumers;
    requires org.junit.platform.launcher;
    requires org.junit.platform.reporting;

    // picocli fills the commands; Jackson writes the --json records
    opens io.dma4j.cli to info.picocli, com.fasterxml.jackson.databind;
}
