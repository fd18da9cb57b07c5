package io.dma4j.spi;

import io.dma4j.api.DmaDirection;
import io.dma4j.platform.device.Device;

/**
 * Bounce buffers (the kernel's swiotlb): memory every device can reach, used in place of
 * a buffer a device cannot reach or must not see. Copies follow the kernel's table:
 * original to bounce at map (whatever the direction), bounce to original at unmap and at
 * sync-for-CPU for FROM_DEVICE and BIDIRECTIONAL, original to bounce at sync-for-device for
 * TO_DEVICE and BIDIRECTIONAL.
 *
 * <p>Thread safety: must be safe for concurrent use.
 */
public interface BounceService {
    /**
     * Allocates a bounce buffer for {@code [origPhys, origPhys+size)} and copies the original in.
     *
     * @param allocAlignMask the bounce allocation starts on an {@code allocAlignMask + 1}
     *                       boundary and is a whole number of such units (granule − 1 when an
     *                       IOMMU maps it, else 0)
     * @param offsetMask     bits of {@code origPhys} the bounce address must keep, in addition
     *                       to the device's min align mask (granule − 1 for the two-step link's
     *                       head and tail, so the IOVA and the bounce buffer agree; else 0)
     * @return the bounce buffer's physical address
     * @throws io.dma4j.api.DmaMappingException when no slot run fits ("bounce buffer full")
     */
    long map(Device device, long origPhys, long size, long allocAlignMask, long offsetMask, DmaDirection dir, int attrs);

    /** Copies back as the direction requires (unless SKIP_CPU_SYNC) and frees the bounce buffer. */
    void unmap(Device device, long bouncePhys, long size, DmaDirection dir, int attrs);

    /** Copies bounce to original for FROM_DEVICE and BIDIRECTIONAL. */
    void syncForCpu(Device device, long bouncePhys, long size, DmaDirection dir);

    /** Copies original to bounce for TO_DEVICE and BIDIRECTIONAL. */
    void syncForDevice(Device device, long bouncePhys, long size, DmaDirection dir);

    /** Whether a physical address lies in a bounce pool. Allocation-free. */
    boolean isBounce(long phys);

    /** The largest mapping the service can bounce for the device (256 KiB for swiotlb, less with a min align mask). */
    long maxMappingSize(Device device);

    /** Pool figures for statistics ({@link Metrics#BOUNCE_SLOTS_USED}, ...), written to {@code out}. */
    default void gauges(MetricSink out) {
    }
}
