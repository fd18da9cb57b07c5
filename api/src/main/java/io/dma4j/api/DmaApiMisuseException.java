package io.dma4j.api;

/**
 * A call that breaks the DMA API's rules: unmapping what was never mapped, a size or
 * direction that differs from the mapping, a sync outside a mapping, an IOVA link that
 * starts mid-granule, and the other checks of {@link MisuseCheck}. The message carries the
 * check's wording, plus the device, address and what was expected. The offending call
 * changed nothing.
 */
public class DmaApiMisuseException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String device;
    private final MisuseCheck check;

    /**
     * @param device  the device's name
     * @param check   the rule broken
     * @param message what happened and what was expected
     */
    public DmaApiMisuseException(String device, MisuseCheck check, String message) {
        super(device + ": DMA-API: " + message);
        this.device = device;
        this.check = java.util.Objects.requireNonNull(check, "check");
    }

    /** The device's name. */
    public String device() {
        return device;
    }

    /** The rule broken. */
    public MisuseCheck check() {
        return check;
    }
}
