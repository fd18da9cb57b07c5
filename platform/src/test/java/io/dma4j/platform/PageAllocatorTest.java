package io.dma4j.platform;

import io.dma4j.platform.memory.PageAllocationException;
import io.dma4j.platform.memory.PageAllocator;
import io.dma4j.platform.memory.Region;
import io.dma4j.platform.memory.SparseMemory;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PageAllocatorTest {
    private static Region dram(long base, long size) {
        return new Region("dram", Region.Kind.DRAM, base, size, new SparseMemory(size), null);
    }

    @Test
    void handsOutLowestNaturallyAlignedBlocksAndMergesBuddiesOnFree() {
        PageAllocator pa = new PageAllocator(List.of(dram(0, 16L << 20)));
        long a = pa.allocPages(0);
        long b = pa.allocPages(0);
        long c = pa.allocPages(2);
        assertThat(a).isEqualTo(0);
        assertThat(b).isEqualTo(4096);
        assertThat(c).isEqualTo(4 * 4096); // order-2 block aligned to 16 KiB
        assertThat(pa.allocatedPages()).isEqualTo(6);
        pa.freePages(a);
        pa.freePages(b);
        pa.freePages(c);
        assertThat(pa.allocatedPages()).isZero();
        // everything merged back: a max-order block starts at 0 again
        assertThat(pa.allocPages(PageAllocator.MAX_ORDER)).isEqualTo(0);
    }

    @Test
    void respectsAnAddressLimit() {
        PageAllocator pa = new PageAllocator(List.of(dram(1L << 20, 8L << 20), dram(4L << 30, 64L << 20)));
        long high = pa.allocPages(10, Long.MAX_VALUE);
        assertThat(high).isEqualTo(4L << 20); // first 4 MiB-aligned block of the low range
        long low = pa.allocPages(0, 2L << 20);
        assertThat(low + 4096).isLessThanOrEqualTo(2L << 20);
        assertThatThrownBy(() -> pa.allocPages(10, 4L << 20)).isInstanceOf(PageAllocationException.class)
                .hasMessageContaining("no free block of order 10 (4096 KiB) below 0x400000");
    }

    @Test
    void allocatesAtOrAboveALowerBoundWithoutLosingWhatLiesBelow() {
        PageAllocator pa = new PageAllocator(List.of(dram(0, 16L << 20)));
        long low = pa.allocPages(0);
        long a = pa.allocPages(0, (9L << 20) + 4096, Long.MAX_VALUE);
        assertThat(a).isEqualTo((9L << 20) + 4096);
        long b = pa.allocPages(2, 9L << 20, Long.MAX_VALUE);
        assertThat(b).isGreaterThanOrEqualTo(9L << 20).matches(x -> x % 16384 == 0, "16 KiB aligned");
        assertThatThrownBy(() -> pa.allocPages(10, 13L << 20, Long.MAX_VALUE)).isInstanceOf(PageAllocationException.class)
                .hasMessageContaining("at or above 0xd00000 and below");
        pa.freePages(a);
        pa.freePages(b);
        pa.freePages(low);
        for (int i = 0; i < 4; i++) {
            assertThat(pa.allocPages(10)).isEqualTo((long) i << 22); // everything merged back into 4 MiB blocks
        }
    }

    @Test
    void pagesAreZeroedAndNeverHandedOutTwice() {
        PageAllocator pa = new PageAllocator(List.of(dram(0, 4L << 20)));
        Set<Long> seen = new HashSet<>();
        List<Long> all = new ArrayList<>();
        for (int i = 0; i < 1024; i++) {
            long p = pa.allocPages(0);
            assertThat(seen.add(p)).isTrue();
            all.add(p);
        }
        assertThatThrownBy(() -> pa.allocPages(0)).isInstanceOf(PageAllocationException.class).hasMessageContaining("1024 pages in use");
        for (long p : all) {
            pa.freePages(p);
        }
        assertThat(pa.allocPages(10)).isZero();
    }

    @Test
    void doubleFreeIsRefused() {
        PageAllocator pa = new PageAllocator(List.of(dram(0, 4L << 20)));
        long p = pa.allocPages(1);
        pa.freePages(p);
        assertThatThrownBy(() -> pa.freePages(p)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("double free");
        assertThatThrownBy(() -> pa.allocPages(11)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected: 0..10");
    }

    @Test
    void orderForRoundsUpToPowersOfTwoPages() {
        assertThat(PageAllocator.orderFor(1)).isZero();
        assertThat(PageAllocator.orderFor(4096)).isZero();
        assertThat(PageAllocator.orderFor(4097)).isEqualTo(1);
        assertThat(PageAllocator.orderFor(3 * 4096)).isEqualTo(2);
        assertThat(PageAllocator.orderFor(4L << 20)).isEqualTo(10);
    }
}
