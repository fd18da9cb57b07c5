package io.dma4j.api;

/**
 * A call that breaks the DMA API's rules: unmapping what was never mapped, a size or
 * direction that differs from the mapping, a sync outside a mapping, an IOVA link that
 * starts mid-granule, and the other checks of the kernel's DMA-debug facility. The
 * message carries the kernel's wording for the check, plus the device, address and what
 * was expected. The offending call changed nothing.
 */
public class DmaApiMisuseException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String device;
    private final String check;

    /**
     * @param device  the device's name
     * @param check   a stable identifier of the rule broken (for example "unmap-never-mapped")
     * @param message what happened and what was expected
     */
    public DmaApiMisuseException(String device, String check, String message) {
        super(device + ": DMA-API: " + message);
        this.device = device;
        this.check = check;
    }

    /** The device's name. */
    public String device() {
        return device;
    }

    /** The identifier of the rule broken. */
    public String check() {
        return check;
    }
}
