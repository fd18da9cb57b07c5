package io.dma4j.cli;

/**
 * An option value outside what the option accepts: dmactl prints it as one line naming the
 * option and the allowed values, and exits 2, as picocli does for values it cannot parse.
 */
final class UsageException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }
}
