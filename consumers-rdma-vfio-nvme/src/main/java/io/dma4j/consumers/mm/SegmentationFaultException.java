package io.dma4j.consumers.mm;

/**
 * A CPU access the process address space does not allow: no VMA at the address, or a write to
 * a read-only VMA. The access did nothing.
 */
public final class SegmentationFaultException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final long address;

    SegmentationFaultException(long address, String message) {
        super(String.format("SIGSEGV at 0x%x: %s", address, message));
        this.address = address;
    }

    /** The virtual address that faulted. */
    public long address() {
        return address;
    }
}
