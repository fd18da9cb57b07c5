package io.dma4j.consumers.vfio;

/**
 * A VFIO migration call failed, with the errno the kernel's driver would return
 * ({@code EINVAL}, {@code EOPNOTSUPP}, {@code ENOMEM}, {@code EIO}) named in {@link #errno()}
 * and at the start of the message.
 */
public final class VfioMigrationException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String errno;

    /** A failure with {@code errno} (for example {@code "EINVAL"}) and a message. */
    public VfioMigrationException(String errno, String message) {
        super(errno + ": " + message);
        this.errno = errno;
    }

    /** A failure with {@code errno}, a message and a cause. */
    public VfioMigrationException(String errno, String message, Throwable cause) {
        super(errno + ": " + message, cause);
        this.errno = errno;
    }

    /** The errno name. */
    public String errno() {
        return errno;
    }
}
