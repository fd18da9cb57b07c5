package io.dma4j.platform.device;

/**
 * Identity translation with a DMA range offset: physical = bus − offset. Addresses above
 * the device's reach (its DMA mask) or below the offset fault. This is what a device sees
 * with no IOMMU (dma-direct) and what every device starts with.
 *
 * @param rangeOffset bus address minus physical address (the kernel's dma_range_map offset)
 * @param limit       highest bus address the device can drive (its DMA mask)
 */
public record OffsetTranslation(long rangeOffset, long limit) implements DmaTranslation {
    @Override
    public long translate(long busAddress, DmaAccess access) {
        if (Long.compareUnsigned(busAddress, limit) > 0) {
            return FaultReason.OUT_OF_RANGE.code();
        }
        long phys = busAddress - rangeOffset;
        return phys < 0 ? FaultReason.NOT_MAPPED.code() : phys;
    }

    @Override
    public String describe() {
        return "direct +0x" + Long.toHexString(rangeOffset);
    }
}
