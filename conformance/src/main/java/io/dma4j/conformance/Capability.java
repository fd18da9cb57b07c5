package io.dma4j.conformance;

/**
 * What a provider under test declares it can do. Contract tests that need a capability
 * the provider does not declare are reported as skipped, with the reason, never as passed.
 */
public enum Capability {
    /** The mapping backend hands out IOVA space: {@code iovaTryAlloc} can answer true (dma-iommu). */
    TWO_STEP,
    /** The device reaches only what is mapped: an unmapped address faults (an IOMMU). */
    TRANSLATES
}
