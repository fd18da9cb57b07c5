package io.dma4j.platform.device;

/**
 * How the PCI fabric routes a device's traffic to peers, consulted by every
 * {@link DmaPort}: a bus address inside a peer's memory BAR below a common switch (and no
 * ACS redirect) turns around at the switch and never reaches the translation; anything
 * else goes upstream through the translation, and if it then lands in a peer's BAR the
 * host bridge must forward peer traffic.
 *
 * <p>Implementations must be thread-safe and cheap: they are asked once per page.
 */
public interface PeerRouter {
    /** No peer routing: everything goes through the translation. */
    PeerRouter NONE = new PeerRouter() {
        @Override
        public long belowSwitch(String device, long bus) {
            return -1;
        }

        @Override
        public FaultReason upstream(String device, long phys) {
            return null;
        }
    };

    /**
     * @return the CPU physical address inside the peer's BAR when the switch routes
     *         {@code bus} straight to a peer's memory BAR, else -1
     */
    long belowSwitch(String device, long bus);

    /**
     * @return {@code null} when the device may reach {@code phys} through the host bridge
     *         (or it is not a peer's BAR), else why not
     */
    FaultReason upstream(String device, long phys);

    /**
     * Whether the memory BAR holding {@code phys} claims the access: {@code null} when it does
     * (or {@code phys} is in no BAR), {@link FaultReason#DECODE_OFF} when its device's memory
     * decode is off. Asked only for addresses in BAR memory.
     */
    default FaultReason claimed(long phys) {
        return null;
    }
}
