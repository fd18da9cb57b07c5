package io.dma4j.runtime;

/**
 * The runtime cannot be assembled as configured: a provider jar that does not load, two
 * providers with one name, a configured provider that does not exist or cannot serve a
 * device, an unknown configuration entry. The message says which and what was expected.
 */
public final class DmaConfigurationException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param message what is wrong */
    public DmaConfigurationException(String message) {
        super(message);
    }

    /** @param message what is wrong; @param cause the underlying failure */
    public DmaConfigurationException(String message, Throwable cause) {
        super(message, cause);
    }
}
