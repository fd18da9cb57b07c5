/**
 * The provider conformance kit: abstract JUnit 5 contract classes, one per SPI role. A
 * vendor extends one in its own test sources and says which provider to test.
 */
module io.dma4j.conformance {
    requires transitive io.dma4j.runtime;
    requires transitive org.junit.jupiter.api;

    exports io.dma4j.conformance;
    opens io.dma4j.conformance to org.junit.platform.commons;
}
