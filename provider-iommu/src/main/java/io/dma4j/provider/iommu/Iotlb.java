package io.dma4j.provider.iommu;

import java.util.Arrays;

/**
 * A finite IOTLB: a direct-mapped cache of 4 KiB translations, filled by device accesses
 * and emptied by range or full invalidations. Entries are whatever the page table said
 * when they were filled, so after an unmap that is not yet invalidated a device can still
 * reach the old page through them.
 *
 * <p>Thread safety: all methods synchronise on this object.
 */
final class Iotlb {
    private final long[] tags;   // iova page + 1; 0 = empty
    private final long[] values; // as PageTable.lookup
    private final int mask;
    private long hits;
    private long misses;
    private long rangeInvalidations;
    private long fullInvalidations;

    /** @param entries capacity, a power of two */
    Iotlb(int entries) {
        if (entries <= 0 || Integer.bitCount(entries) != 1) {
            throw new IllegalArgumentException("IOTLB entries: " + entries + " (expected: a power of two)");
        }
        tags = new long[entries];
        values = new long[entries];
        mask = entries - 1;
    }

    private int slot(long page) {
        return (int) ((page ^ (page >>> 13)) & mask);
    }

    /** The cached translation of a page, or 0 on a miss. */
    synchronized long lookup(long page) {
        int i = slot(page);
        if (tags[i] == page + 1) {
            hits++;
            return values[i];
        }
        misses++;
        return 0;
    }

    synchronized void fill(long page, long value) {
        int i = slot(page);
        tags[i] = page + 1;
        values[i] = value;
    }

    /** Invalidates the pages of {@code [iova, iova+len)} (a page-selective invalidation). */
    synchronized void invalidate(long iova, long len) {
        rangeInvalidations++;
        long first = iova >>> 12;
        long last = (iova + len - 1) >>> 12;
        if (last - first >= tags.length) {
            for (int i = 0; i < tags.length; i++) {
                if (tags[i] != 0 && tags[i] - 1 >= first && tags[i] - 1 <= last) {
                    tags[i] = 0;
                }
            }
            return;
        }
        for (long p = first; p <= last; p++) {
            int i = slot(p);
            if (tags[i] == p + 1) {
                tags[i] = 0;
            }
        }
    }

    /** Invalidates everything (a domain-selective flush). */
    synchronized void invalidateAll() {
        fullInvalidations++;
        Arrays.fill(tags, 0);
    }

    synchronized long hits() {
        return hits;
    }

    synchronized long misses() {
        return misses;
    }

    synchronized long rangeInvalidations() {
        return rangeInvalidations;
    }

    synchronized long fullInvalidations() {
        return fullInvalidations;
    }

    int capacity() {
        return tags.length;
    }
}
