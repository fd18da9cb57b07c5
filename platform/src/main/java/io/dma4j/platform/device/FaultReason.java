package io.dma4j.platform.device;

/**
 * Why a device access failed. A {@link DmaTranslation} reports a fault by returning
 * {@link #code()}, a negative number, instead of a physical address.
 */
public enum FaultReason {
    /** No translation exists for the address (unmapped IOVA, or below the range offset). */
    NOT_MAPPED,
    /** A translation exists but does not allow this access (write to a read-only mapping). */
    PERMISSION,
    /** The address is beyond what the device can drive (above its DMA mask) or the aperture. */
    OUT_OF_RANGE,
    /** The translated physical address holds no memory (a hole, or a register block). */
    UNBACKED,
    /** The address is a peer's BAR and the fabric does not route this device to it. */
    P2P_BLOCKED,
    /** The device, or the peer it addressed, was hot-removed. */
    REMOVED,
    /** A failure injected at {@code dma_transfer} ({@link io.dma4j.platform.fault.FaultInjector}). */
    INJECTED,
    /**
     * The address lies in a reserved IOVA region of the device's DMA domain (an MSI doorbell
     * window or a host-bridge memory window): no mapping can ever exist there.
     */
    RESERVED,
    /** The address is in a memory BAR of a device whose memory decode is off (its command register): nothing claims it. */
    DECODE_OFF;

    private static final FaultReason[] VALUES = values();

    /** The negative code a translation returns for this reason. */
    public long code() {
        return -1L - ordinal();
    }

    /** The reason for a negative translation result. */
    public static FaultReason ofCode(long code) {
        int i = (int) (-1L - code);
        if (code >= 0 || i >= VALUES.length) {
            throw new IllegalArgumentException("not a fault code: " + code);
        }
        return VALUES[i];
    }
}
