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

    private static final long RW = PageTable.READ | PageTable.WRITE;

    @Test
    void x86UnmapAtTheStartOfALargePageRemovesItWholeAndInsideItStops() {
        // generic_pt __unmap_range (drivers/iommu/generic_pt/iommu_pt.h, v6.19): "when unmap reaches a partial unmap of the
        // start of a large IOPTE it should remove the entire IOPTE and return that size"; an unmap starting inside is -EINVAL
        PageTable t = new PageTable(PageTableFormat.X86_64);
        t.map(0, MB2, MB2, PageTable.READ);
        t.map(MB2, 2 * MB2, MB2, PageTable.READ);
        assertThat(t.unmap(MB2 + 4096, 4096)).as("starts inside the leaf").isZero();
        assertThat(t.iovaToPhys(MB2 + 0x10)).isEqualTo(2 * MB2 + 0x10);
        assertThat(t.unmap(0, 4096)).as("the whole 2 MiB leaf, though 4 KiB were asked").isEqualTo(MB2);
        assertThat(t.iovaToPhys(0x10)).isEqualTo(-1);
        assertThat(t.iovaToPhys(MB2 - 1)).isEqualTo(-1);
        assertThat(t.iovaToPhys(MB2)).as("the next leaf is untouched").isEqualTo(2 * MB2);
    }

    @Test
    void armRefusesAnUnmapSmallerThanTheBlockItMeets() {
        // io-pgtable-arm __arm_lpae_unmap since v6.13 (commit 33729a5fc0ca): no partial unmap of a block, 0 bytes unmapped
        for (PageTableFormat f : new PageTableFormat[] {PageTableFormat.ARM_LPAE_4K, PageTableFormat.ARM_LPAE_4K_39}) {
            PageTable t = new PageTable(f);
            t.map(0, MB2, MB2, PageTable.READ);
            assertThat(t.unmap(0, 4096)).as(f.name()).isZero();
            assertThat(t.iovaToPhys(0x10)).isEqualTo(MB2 + 0x10);
            assertThat(t.unmap(0, MB2)).isEqualTo(MB2);
            assertThat(t.iovaToPhys(0x10)).isEqualTo(-1);
        }
    }

    @Test
    void aBlockMappedWhereAnEmptyTableRemainsFreesItAndIsOneLeaf() {
        // io-pgtable-arm __arm_lpae_map frees a leftover table and installs the block; generic_pt __map_range makes it a large entry
        for (PageTableFormat f : new PageTableFormat[] {PageTableFormat.X86_64, PageTableFormat.ARM_LPAE_4K}) {
            PageTable t = new PageTable(f);
            long gib = 1L << 30;
            for (long i = 0; i < 512; i++) { // 4 KiB pages in [1 GiB, 1 GiB + 2 MiB), then each unmapped on its own
                t.map(gib + i * 4096, 0x10_0000_0000L + i * 4096, 4096, RW);
            }
            for (long i = 0; i < 512; i++) {
                assertThat(t.unmap(gib + i * 4096, 4096)).isEqualTo(4096);
            }
            assertThat(t.leaves()).isZero();
            assertThat(t.tablePages()).as("%s: root, level 1, level 2, level 3 remain", f).isEqualTo(4);
            t.map(gib, 0x40_0000_0000L, gib, RW); // 1 GiB over the range that held 4 KiB pages
            assertThat(t.leaves()).as("%s: one 1 GiB leaf, not 262,144 small ones", f).isEqualTo(1);
            assertThat(t.tablePagesFreed()).as("%s: the level-2 and level-3 tables", f).isEqualTo(2);
            assertThat(t.tablePages()).isEqualTo(2);
            assertThat(t.iovaToPhys(gib + 0x1234_5678L)).isEqualTo(0x40_0000_0000L + 0x1234_5678L);
        }
    }

    @Test
    void aBlockOverATableWithLivePagesIsRefused() {
        // generic_pt refuses (-EADDRINUSE); io-pgtable-arm would free the live table (a difference kept on purpose: README Fidelity)
        for (PageTableFormat f : new PageTableFormat[] {PageTableFormat.X86_64, PageTableFormat.ARM_LPAE_4K}) {
            PageTable t = new PageTable(f);
            t.map(MB2 + 0x5000, 0x7000, 4096, PageTable.READ);
            assertThatThrownBy(() -> t.map(MB2, 0x40_0000_0000L, MB2, RW)).as(f.name()).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("is already mapped");
            assertThat(t.iovaToPhys(MB2 + 0x5010)).isEqualTo(0x7010);
            assertThat(t.leaves()).isEqualTo(1);
        }
    }

    @Test
    void anUnmapOfABlockOverASparseTableClearsItOnArmAndStopsAtTheHoleOnX86() {
        PageTable arm = new PageTable(PageTableFormat.ARM_LPAE_4K);
        PageTable x86 = new PageTable(PageTableFormat.X86_64);
        for (PageTable t : new PageTable[] {arm, x86}) {
            t.map(0, 0x10_0000, 4096, RW);
            t.map(0x10000, 0x20_0000, 4096, RW);
        }
        // io-pgtable-arm: a 2 MiB unmap step meets a table: the table goes with what it holds, 2 MiB counted
        assertThat(arm.unmap(0, MB2)).isEqualTo(MB2);
        assertThat(arm.leaves()).isZero();
        assertThat(arm.tablePagesFreed()).isEqualTo(1);
        // generic_pt __unmap_range: the first empty entry ends the walk (-EFAULT); the table is freed only when cleared whole
        assertThat(x86.unmap(0, MB2)).isEqualTo(4096);
        assertThat(x86.iovaToPhys(0x10000)).isEqualTo(0x20_0000);
        assertThat(x86.tablePagesFreed()).isZero();
        x86.map(0x1000, 0x30_0000, 0xF000, RW); // fill [0x1000, 0x10000): now [0, 0x11000) is mapped without a hole
        assertThat(x86.unmap(0x1000, 0x10000)).isEqualTo(0x10000);
        assertThat(x86.leaves()).isZero();
    }

    @Test
    void x86FreesATableAnUnmapCoversWhole() {
        PageTable t = new PageTable(PageTableFormat.X86_64);
        t.map(0, 0x9000_0000L, MB2, RW); // 2 MiB, but phys... aligned: one 2 MiB leaf
        t.map(MB2, 0x9020_1000L, MB2, RW); // phys not 2 MiB-aligned: 512 4 KiB pages in a level-3 table
        long before = t.tablePages();
        assertThat(t.unmap(0, 2 * MB2)).isEqualTo(2 * MB2);
        assertThat(t.tablePagesFreed()).as("the level-3 table the range covered").isEqualTo(1);
        assertThat(t.tablePages()).isEqualTo(before - 1);
    }

    @Test
    void mapRefusesNoPermissionAndAddressesBeyondTheInputAddressSize() {
        PageTable t = new PageTable(PageTableFormat.X86_64);
        // generic_pt map_range: no IOMMU_READ|IOMMU_WRITE is -EINVAL; an address past the VA size -ERANGE (it would alias low IOVAs)
        assertThatThrownBy(() -> t.map(0x1000, 0x1000, 4096, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("map 0x1000 size 0x1000: no permission (-EINVAL)");
        assertThatThrownBy(() -> t.map(1L << 48, 0x1000, 4096, RW)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("map 0x1000000000000 size 0x1000: beyond the 48-bit input address size (-ERANGE)");
        assertThatThrownBy(() -> t.map((1L << 48) - 4096, 0x1000, 8192, RW)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-ERANGE");
        assertThat(t.iovaToPhys(0)).as("nothing aliased at 0").isEqualTo(-1);
        assertThat(t.leaves()).isZero();
        PageTable la57 = new PageTable(PageTableFormat.X86_64_5LEVEL);
        la57.map(1L << 48, 0x1000, 4096, RW);
        assertThat(la57.iovaToPhys((1L << 48) + 5)).isEqualTo(0x1005);
        assertThat(la57.iovaToPhys(5)).isEqualTo(-1);
    }

    @Test
    void inputAddressSizesSetTheLevels() {
        assertThat(PageTableFormat.X86_64.levels).isEqualTo(4);
        assertThat(PageTableFormat.X86_64_5LEVEL.levels).isEqualTo(5);
        assertThat(PageTableFormat.ARM_LPAE_4K_39.levels).as("39-bit with 4 KiB: three levels").isEqualTo(3);
        assertThat(PageTableFormat.ARM_LPAE_16K_36.levels).isEqualTo(2);
        assertThat(PageTableFormat.ARM_LPAE_64K_42.levels).isEqualTo(2);
        for (PageTableFormat f : PageTableFormat.values()) {
            PageTable t = new PageTable(f);
            long top = f.apertureEnd() + 1 - f.granule();
            t.map(top, f.granule(), f.granule(), PageTable.READ);
            assertThat(t.iovaToPhys(top + 1)).as(f.name()).isEqualTo(f.granule() + 1);
            assertThat(t.tablePages()).as(f.name()).isEqualTo(f.levels);
            assertThat(PageTableFormat.ofConfigName(f.configName())).isEqualTo(f);
        }
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
