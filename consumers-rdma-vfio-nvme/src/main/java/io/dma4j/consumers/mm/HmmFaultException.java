package io.dma4j.consumers.mm;

/**
 * {@link Hmm#rangeFault} could not fault a page in: no mapping at the address
 * ({@code -EFAULT}) or a write requested on a read-only mapping ({@code -EPERM}).
 */
public final class HmmFaultException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** The kernel's {@code EFAULT}. */
    public static final int EFAULT = 14;
    /** The kernel's {@code EPERM}. */
    public static final int EPERM = 1;
    private final long address;
    private final int errno;

    HmmFaultException(long address, int errno, String message) {
        super(String.format("hmm_range_fault at 0x%x: %s", address, message));
        this.address = address;
        this.errno = errno;
    }

    /** The virtual address that could not be faulted in. */
    public long address() {
        return address;
    }

    /** {@link #EFAULT} or {@link #EPERM} (positive, as the kernel's negated return). */
    public int errno() {
        return errno;
    }
}
