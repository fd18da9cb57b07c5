package io.dma4j.platform.device;

/**
 * One failed device access, as recorded in the machine's {@link FaultLog}.
 *
 * @param sequence    position in the machine's fault history (0 for the first fault)
 * @param device      the device that made the access
 * @param busAddress  the address the device put on the bus (an IOVA under an IOMMU)
 * @param access      read or write
 * @param reason      why it failed
 * @param translation a description of the translation in force (for example "direct +0x0")
 */
public record Fault(long sequence, String device, long busAddress, DmaAccess access, FaultReason reason, String translation) {
    @Override
    public String toString() {
        return String.format("#%d %s %s at 0x%x: %s (%s)", sequence, device, access, busAddress, reason, translation);
    }
}
