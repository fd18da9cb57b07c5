package io.dma4j.runtime;

import io.dma4j.api.MisuseCheck;

/**
 * One DMA-debug finding.
 *
 * @param device  the device's name
 * @param check   the rule broken
 * @param message the full report: the check's wording and the details
 */
public record DebugReport(String device, MisuseCheck check, String message) {
}
