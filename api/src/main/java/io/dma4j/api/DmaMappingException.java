package io.dma4j.api;

/**
 * A mapping could not be made: something ran out (IOVA space, bounce slots, pages) or the
 * address cannot be reached (above the DMA mask with no bounce buffers, a peer the fabric
 * does not route to). The kernel's {@code DMA_MAPPING_ERROR} or negative errno. The
 * message names the device, the address and size, and what ran out or was expected.
 * Nothing is left mapped when this is thrown.
 */
public class DmaMappingException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String device;
    private final long address;
    private final long size;

    /**
     * @param device  the device's name
     * @param address the physical (or DMA) address of the request
     * @param size    the request's size in bytes
     * @param message what ran out or was wrong
     */
    public DmaMappingException(String device, long address, long size, String message) {
        super(String.format("%s: cannot map 0x%x (+0x%x): %s", device, address, size, message));
        this.device = device;
        this.address = address;
        this.size = size;
    }

    /** The device's name. */
    public String device() {
        return device;
    }

    /** The address of the failed request. */
    public long address() {
        return address;
    }

    /** The size of the failed request. */
    public long size() {
        return size;
    }
}
