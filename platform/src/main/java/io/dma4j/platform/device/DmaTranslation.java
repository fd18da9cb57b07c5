package io.dma4j.platform.device;

import io.dma4j.platform.ReservedRegion;

import java.util.List;

/**
 * How a device's bus addresses become physical addresses: identity plus the device's
 * range offset until a mapping backend attaches another (an IOMMU domain's page-table
 * walk, for example).
 *
 * <p>Implementations must be thread-safe and should not allocate: the device's
 * {@link DmaPort} calls them once per 4 KiB page of every transfer.
 */
public interface DmaTranslation {
    /**
     * Translates one bus address.
     *
     * @param busAddress the address the device drives
     * @param access     read or write
     * @return the physical address, valid up to the end of the 4 KiB page that holds
     *         {@code busAddress}; or a negative {@link FaultReason#code()}
     */
    long translate(long busAddress, DmaAccess access);

    /** A short description for fault records and listings ("direct +0x0", "iommu dmar0 domain 3"). */
    String describe();

    /**
     * The reserved regions of this translation's address space, in address order: what an
     * IOMMU domain keeps out of its IOVA space (and lists without reserving, such as a
     * software MSI window). None by default.
     */
    default List<ReservedRegion> reservedRegions() {
        return List.of();
    }

    /**
     * The IOVA ranges taken from this translation's allocator now, as first and last address
     * pairs in address order ({@code [lo0, hi0, lo1, hi1, ...]}); ranges a cache holds for reuse
     * count as taken. Empty for a translation without an IOVA allocator. A copy, for listings
     * and reports (not for hot paths).
     */
    default long[] allocatedIovaRanges() {
        return new long[0];
    }
}
