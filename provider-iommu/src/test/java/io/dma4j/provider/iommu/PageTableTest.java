package io.dma4j.provider.iommu;

import org.junit.jupiter.api.Test;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PageTableTest {
    private static final long MB2 = 2L << 20;

    @Test
    void usesTheLargestPageThatSizeAndAlignmentAllow() {
        PageTable t = new PageTable(PageTableFormat.X86_64);
        t.map(0x4000_0000L, 0x8000_0000L, 4 * MB2, PageTable.READ | PageTable.WRITE);
        assertThat(t.tablePages()).as("root + level 1 + level 2: 2 MiB leaves need no level-3 table").isEqualTo(3);
        assertThat(t.iovaToPhys(0x4000_0000L + MB2 + 0x1234)).isEqualTo(0x8000_0000L + MB2 + 0x1234);
        t.map(1L << 31, 1L << 32, 1L << 30, PageTable.READ);
        assertThat(t.tablePages()).as("a 1 GiB leaf sits in the level-1 table").isEqualTo(3);
        assertThat(t.iovaToPhys((1L << 31) + 0x3456_7890L)).isEqualTo((1L << 32) + 0x3456_7890L);
        // iova 2 MiB-aligned but phys only 4 KiB-aligned: 4 KiB pages
        t.map(0x1_0000_0000L, 0x9000_1000L, MB2, PageTable.READ);
        assertThat(t.tablePages()).isEqualTo(5); // new level-2 and level-3 tables
    }

    @Test
    void partOfALargePageIsNeverUnmapped() {
        PageTable t = new PageTable(PageTableFormat.X86_64);
        t.map(0, MB2, MB2, PageTable.READ);
        assertThat(t.unmap(0, 4096)).isZero();
        assertThat(t.iovaToPhys(0x10)).isEqualTo(MB2 + 0x10);
        assertThat(t.unmap(0, MB2)).isEqualTo(MB2);
        assertThat(t.iovaToPhys(0x10)).isEqualTo(-1);
    }

    @Test
    void mappingOverAMappingFailsAndLeavesNothingOfTheNewMapping() {
        PageTable t = new PageTable(PageTableFormat.X86_64);
        t.map(0x3000, 0x10_0000, 0x1000, PageTable.READ);
        assertThatThrownBy(() -> t.map(0x1000, 0x20_0000, 0x3000, PageTable.WRITE)).isInstanceOf(IllegalStateException.class)
                .hasMessage("IOVA 0x3000 is already mapped");
        assertThat(t.iovaToPhys(0x1000)).isEqualTo(-1);
        assertThat(t.iovaToPhys(0x3000)).isEqualTo(0x10_0000);
        assertThatThrownBy(() -> t.map(0x1800, 0, 0x1000, PageTable.READ)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("granule");
    }

    @Test
    void permissionsAreKeptPerLeaf() {
        PageTable t = new PageTable(PageTableFormat.X86_64);
        t.map(0x1000, 0x5000, 0x1000, PageTable.READ);
        long v = t.lookup(0x1ABC);
        assertThat(v & PageTable.READ).isNotZero();
        assertThat(v & PageTable.WRITE).isZero();
        assertThat(v & ~0xFFFL).isEqualTo(0x5000);
    }

    @Test
    void armFormatsHaveTheirOwnGranulesAndBlocks() {
        PageTable t16 = new PageTable(PageTableFormat.ARM_LPAE_16K);
        t16.map(32L << 20, 64L << 20, 32L << 20, PageTable.READ);
        assertThat(t16.tablePages()).as("a 32 MiB block: root and one level below").isEqualTo(3);
        assertThat(t16.iovaToPhys((32L << 20) + 12345)).isEqualTo((64L << 20) + 12345);
        assertThatThrownBy(() -> t16.map(0x1000, 0, 0x4000, PageTable.READ)).isInstanceOf(IllegalArgumentException.class);
        PageTable t64 = new PageTable(PageTableFormat.ARM_LPAE_64K);
        t64.map(0x10000, 0x30000, 0x20000, PageTable.WRITE);
        assertThat(t64.iovaToPhys(0x1FFFF)).isEqualTo(0x3FFFF);
        assertThat(PageTableFormat.ARM_LPAE_64K.granule()).isEqualTo(65536);
        assertThat(PageTableFormat.ofConfigName("arm-lpae-16k")).isEqualTo(PageTableFormat.ARM_LPAE_16K);
        assertThatThrownBy(() -> PageTableFormat.ofConfigName("sparc")).hasMessageContaining("expected: x86-64");
    }

    @Test
    void concurrentMapAndUnmapOfDisjointRangesIsSafe() throws Exception {
        PageTable t = new PageTable(PageTableFormat.X86_64);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        Future<?>[] fs = new Future<?>[2];
        for (int th = 0; th < 2; th++) {
            long base = th * 0x1000L; // interleaved pages: both threads build the same tables
            fs[th] = pool.submit(() -> {
                for (int round = 0; round < 200; round++) {
                    for (long i = 0; i < 256; i++) {
                        long iova = base + i * 0x2000 + ((long) round << 30);
                        t.map(iova, iova + 0x100_0000_0000L, 0x1000, PageTable.READ);
                    }
                    for (long i = 0; i < 256; i++) {
                        long iova = base + i * 0x2000 + ((long) round << 30);
                        if (t.iovaToPhys(iova + 5) != iova + 5 + 0x100_0000_0000L) {
                            throw new IllegalStateException("lost mapping at 0x" + Long.toHexString(iova));
                        }
                        if (t.unmap(iova, 0x1000) != 0x1000) {
                            throw new IllegalStateException("unmap failed at 0x" + Long.toHexString(iova));
                        }
                    }
                }
                return null;
            });
        }
        for (Future<?> f : fs) {
            f.get();
        }
        pool.shutdown();
        assertThat(t.iovaToPhys(0x1000)).isEqualTo(-1);
    }
}
