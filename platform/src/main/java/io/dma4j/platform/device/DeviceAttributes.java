package io.dma4j.platform.device;

/**
 * The DMA-relevant properties a device is described with (the kernel's {@code struct
 * device} DMA fields and {@code dma_parms}).
 *
 * @param dmaMask             streaming DMA mask at start (all-ones of the device's address bits)
 * @param coherentMask        coherent-allocation mask at start
 * @param coherent            whether device accesses snoop CPU caches
 * @param untrusted           an external-facing device (Thunderbolt): IOMMU strict mode and bouncing of sub-granule buffers
 * @param rangeOffset         bus address minus physical address for DRAM (dma-ranges offset)
 * @param maxSegmentSize      largest DMA segment the device accepts (kernel default 64 KiB)
 * @param segmentBoundaryMask a DMA segment must not cross a multiple of (mask + 1); -1 for none
 * @param minAlignMask        low address bits a bounce buffer must preserve (NVMe: 4 KiB − 1)
 */
public record DeviceAttributes(long dmaMask, long coherentMask, boolean coherent, boolean untrusted, long rangeOffset,
                               long maxSegmentSize, long segmentBoundaryMask, long minAlignMask) {
    /** The kernel's default max segment size when a driver sets no dma_parms. */
    public static final long DEFAULT_MAX_SEGMENT_SIZE = 64 * 1024;

    public DeviceAttributes {
        if (!isMask(dmaMask) || !isMask(coherentMask)) {
            throw new IllegalArgumentException(String.format("masks 0x%x/0x%x (expected: all-ones masks like 0xffffffff)", dmaMask, coherentMask));
        }
        if (maxSegmentSize <= 0) {
            throw new IllegalArgumentException("maxSegmentSize: " + maxSegmentSize + " (expected: > 0)");
        }
        if (!isMask(segmentBoundaryMask) || !isMask(minAlignMask)) {
            throw new IllegalArgumentException(String.format("segmentBoundaryMask 0x%x / minAlignMask 0x%x (expected: all-ones masks)", segmentBoundaryMask, minAlignMask));
        }
    }

    /** The mask of {@code bits} address bits (the kernel's DMA_BIT_MASK). */
    public static long bitMask(int bits) {
        if (bits < 1 || bits > 64) {
            throw new IllegalArgumentException("bits: " + bits + " (expected: 1..64)");
        }
        return bits == 64 ? -1L : (1L << bits) - 1;
    }

    /** Whether {@code m} is of the form 2^n − 1 (including 0 and all ones). */
    public static boolean isMask(long m) {
        return (m & (m + 1)) == 0;
    }
}
