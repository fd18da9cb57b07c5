package io.dma4j.consumers.nvme;

import io.dma4j.devices.nvme.NvmeController;
import io.dma4j.hw.nvme.Nvme;
import io.dma4j.platform.Machine;
import io.dma4j.platform.description.MachineDescriptionParser;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;
import io.dma4j.runtime.testing.Bytes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * How the driver sets up a command's data pointer, each case derived from
 * drivers/nvme/host/pci.c (v6.17): {@code nvme_map_data}, {@code nvme_pci_setup_data_simple},
 * {@code nvme_pci_setup_data_prp}/{@code _sgl}, the small pool ({@code NVME_SMALL_POOL_SIZE} =
 * 256) and {@code max_hw_sectors} from {@code nvme_pci_alloc_dev} and MDTS. Every case also
 * moves the bytes through the controller model and back.
 */
class NvmeDataPointerTest {
    private Machine machine;
    private DmaRuntime rt;
    private PhysicalAddressSpace cpu;
    private NvmeDriver nvme;
    private long lba;

    private void setUp(Machine m, String backend, String device) {
        machine = m;
        cpu = m.addressSpace();
        rt = DmaRuntime.builder().machine(m).config(RuntimeConfig.of(Map.of("dma4j.backend." + device, backend, "dma4j.iommu.mode", "strict"))).build();
        nvme = new NvmeDriver(rt.mapper(device), cpu);
    }

    /** A machine with one NVMe controller whose model options are given. */
    private static Machine withOptions(String options) {
        return Machine.create(MachineDescriptionParser.parse("""
                {"memory": [{"base": "1MiB", "size": "1023MiB"}], "iommus": [{"name": "mmu"}],
                 "fabric": [{"name": "hb", "type": "host-bridge"}, {"name": "rp", "type": "root-port", "parent": "hb"}],
                 "devices": [{"name": "nv", "model": "nvme", "port": "rp", "iommu": "mmu", "minAlignMask": "0xfff", "modelOptions": {OPTIONS},
                              "bars": [{"index": 0, "kind": "registers", "address": "0xc0000000", "size": "16KiB"}]}]}
                """.replace("OPTIONS", options), "nv.json"));
    }

    @AfterEach
    void tearDown() {
        if (nvme != null) {
            nvme.close();
        }
        if (rt != null) {
            rt.close();
        }
        if (machine != null) {
            machine.close();
        }
    }

    /** Writes the segments, reads them back into fresh ones of the same layout, and compares; returns after the read. */
    private void roundTrip(long[] phys, long[] len) {
        int n = phys.length;
        long[] dst = new long[n];
        for (int i = 0; i < n; i++) {
            Bytes.fill(cpu, phys[i], len[i], lba + i);
            dst[i] = machine.pageAllocator().allocPages(io.dma4j.platform.memory.PageAllocator.orderFor((phys[i] & 0xfff) + len[i])) + (phys[i] & 0xfff);
        }
        long total = Arrays.stream(len).sum();
        assertThat(nvme.write(lba, phys, len, n)).as("write status").isZero();
        assertThat(nvme.read(lba, dst, len, n)).as("read status").isZero();
        for (int i = 0; i < n; i++) {
            assertThat(Bytes.mismatch(cpu, dst[i], len[i], lba + i)).as("segment %d came back", i).isEqualTo(-1);
        }
        lba += total / Nvme.LBA + 8;
    }

    private long pages(int order, long offset) {
        return machine.pageAllocator().allocPages(order) + offset;
    }

    @Test
    void oneSegmentWithinTwoControllerPagesTakesPrp1AndPrp2WithoutAList() {
        setUp(Machine.createDefault(), "iommu", "nvme0");
        long p = pages(1, 0x800);
        roundTrip(new long[] {p}, new long[] {4096});
        assertThat(nvme.lastSingleSegment()).isTrue();
        assertThat(nvme.lastPsdt()).isEqualTo(Nvme.PSDT_PRP);
        // prp1_offset 0x800 + 4 KiB <= 8 KiB: PRP1 = addr, PRP2 = addr + 4096 - 0x800
        assertThat(nvme.lastDataPointer1() & 0xfff).isEqualTo(0x800);
        assertThat(nvme.lastDataPointer2()).isEqualTo(nvme.lastDataPointer1() + 0x800);
        assertThat(nvme.lastBookkeepingBytes()).as("IOD_SINGLE_SEGMENT: the command's data pointer is the unmap record").isZero();
        roundTrip(new long[] {pages(0, 0x200)}, new long[] {1024});
        assertThat(nvme.lastDataPointer2()).as("inside one controller page: PRP2 = 0").isZero();
    }

    @Test
    void oneSegmentBeyondTwoControllerPagesIsOneInlineSglDataBlockWhateverTheThreshold() {
        setUp(Machine.createDefault(), "iommu", "nvme0");
        for (long threshold : new long[] {NvmeDriver.DEFAULT_SGL_THRESHOLD, 0}) {
            nvme.setSglThreshold(threshold);
            long p = pages(2, 0);
            roundTrip(new long[] {p}, new long[] {12 * 1024}); // 12 KiB > 8 KiB: PRP not possible; 12 KiB < 32 KiB threshold
            assertThat(nvme.lastSingleSegment()).isTrue();
            assertThat(nvme.lastPsdt()).as("SGL, threshold %d (not consulted on this path)", threshold).isEqualTo(Nvme.PSDT_SGL);
            assertThat(nvme.lastDataPointer2()).as("a data block descriptor: length 12 KiB, type 0").isEqualTo(12 * 1024);
            assertThat(nvme.lastSmallDescriptor()).isFalse();
        }
        assertThat(nvme.descriptorBytes()).as("no descriptor memory at all").isZero();
    }

    @Test
    void aControllerWithoutSglsTakesTheIteratorAndAPrpListForALongSingleSegment() {
        setUp(withOptions("\"sgls\": \"false\""), "direct", "nv");
        assertThat(nvme.sglSupported()).isFalse();
        // 12 KiB in one segment: PRP not possible and use_sgl UNSUPPORTED, so BLK_STS_AGAIN: the iterator and a PRP list
        roundTrip(new long[] {pages(2, 0)}, new long[] {12 * 1024});
        assertThat(nvme.lastSingleSegment()).isFalse();
        assertThat(nvme.lastPsdt()).isEqualTo(Nvme.PSDT_PRP);
        assertThat(nvme.lastSmallDescriptor()).as("two list entries: the small pool").isTrue();
        // the controller refuses an SGL command outright
        long p = pages(0, 0);
        assertThat(nvme.submitIo(Nvme.IO_READ, Nvme.PSDT_SGL, 0, 7, p, 4096)).isEqualTo(Nvme.SC_INVALID_FIELD);
    }

    @Test
    void sglThresholdZeroKeepsGaplessMultiSegmentRequestsOnPrps() {
        setUp(Machine.createDefault(), "iommu", "nvme0");
        nvme.setSglThreshold(0);
        // behind the IOMMU the two segments coalesce into one IOVA range (nseg = 1, 64 KiB average): with the default
        // threshold that is an SGL; with sgl_threshold 0 nvme_map_data takes nvme_pci_setup_data_prp
        long[] phys = {pages(4, 0), pages(4, 0)};
        long[] len = {32 * 1024, 32 * 1024};
        roundTrip(phys, len);
        assertThat(nvme.lastPsdt()).isEqualTo(Nvme.PSDT_PRP);
        nvme.setSglThreshold(NvmeDriver.DEFAULT_SGL_THRESHOLD);
        roundTrip(phys, len);
        assertThat(nvme.lastPsdt()).isEqualTo(Nvme.PSDT_SGL);
    }

    @Test
    void shortPrpListsComeFromTheSmallPoolLongOnesFromAPage() {
        setUp(Machine.createDefault(), "direct", "nvme0");
        long[] phys = new long[33];
        long[] len = new long[33];
        Arrays.fill(len, 4096);
        for (int i = 0; i < phys.length; i++) {
            phys[i] = pages(0, 0);
        }
        // 33 pages: PRP1 + 32 list entries = ceil(remaining / 4096) <= 32: a 256-byte block
        roundTrip(phys, len);
        assertThat(nvme.lastPsdt()).isEqualTo(Nvme.PSDT_PRP);
        assertThat(nvme.lastSmallDescriptor()).isTrue();
        assertThat(nvme.lastDataPointer2() & 0xff).as("256-byte aligned").isZero();
        assertThat(nvme.smallPoolBytes()).isEqualTo(4096);
        assertThat(nvme.descriptorBytes()).isEqualTo(4096);
        // 34 pages: 33 entries: a 4 KiB list page
        long[] phys34 = Arrays.copyOf(phys, 34);
        long[] len34 = Arrays.copyOf(len, 34);
        phys34[33] = pages(0, 0);
        len34[33] = 4096;
        roundTrip(phys34, len34);
        assertThat(nvme.lastSmallDescriptor()).isFalse();
        assertThat(nvme.lastDataPointer2() & 0xfff).as("a whole page").isZero();
        assertThat(nvme.descriptorBytes()).as("the small pool's page and one list page").isEqualTo(2 * 4096);
    }

    @Test
    void shortSglSegmentsComeFromTheSmallPoolAndTheQuirkAlignsThemTo512() {
        setUp(Machine.createDefault(), "direct", "nvme0");
        nvme.setDmaPoolAlign512(true);
        // 16 segments of 32 KiB (average = the threshold): SGL, 16 descriptors = 256 bytes, the small pool
        long[] phys = new long[16];
        long[] len = new long[16];
        Arrays.fill(len, 32 * 1024);
        for (int i = 0; i < 16; i++) {
            phys[i] = pages(3, 0);
        }
        roundTrip(phys, len);
        assertThat(nvme.lastPsdt()).isEqualTo(Nvme.PSDT_SGL);
        assertThat(nvme.lastSmallDescriptor()).isTrue();
        assertThat(nvme.lastDataPointer1() & 0x1ff).as("NVME_QUIRK_DMAPOOL_ALIGN_512").isZero();
        assertThat(nvme.lastDataPointer2() & 0xffff_ffffL).as("Last Segment of 16 descriptors").isEqualTo(16 * 16);
        assertThatThrownBy(() -> nvme.setDmaPoolAlign512(false)).isInstanceOf(IllegalStateException.class)
                .hasMessage("nvme0: the small descriptor pool is in use; set its alignment before the first request");
    }

    @Test
    void behindAnIommuTheTransferLimitIsTheOptimalMappingSize() {
        setUp(Machine.createDefault(), "iommu", "nvme0");
        // max_hw_sectors = min(NVME_MAX_BYTES, dma_opt_mapping_size): iommu_dma_opt_mapping_size is the IOVA rcache range, 4 KiB << 5
        assertThat(nvme.maxTransferBytes()).isEqualTo(128 * 1024);
        long p = pages(6, 0);
        assertThatThrownBy(() -> nvme.write(0, new long[] {p}, new long[] {256 * 1024}, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("nvme0: 262144 bytes (expected: a multiple of 512, at most the transfer limit 131072 bytes; split larger requests)");
    }

    @Test
    void mdtsZeroMeansNoLimitFromTheControllerOnlyTheDriversOwn() {
        setUp(withOptions("\"mdts\": \"0\""), "direct", "nv");
        assertThat(nvme.mdts()).isZero();
        assertThat(nvme.maxTransferBytes()).as("NVME_MAX_BYTES, dma-direct has no optimal size below it").isEqualTo(8L << 20);
        // 8 MiB in two 4 MiB segments (the page allocator's largest block): average 4 MiB >= sgl_threshold, two descriptors
        roundTrip(new long[] {pages(10, 0), pages(10, 0)}, new long[] {4L << 20, 4L << 20});
        assertThat(nvme.lastPsdt()).isEqualTo(Nvme.PSDT_SGL);
        assertThat(nvme.lastDataPointer2() & 0xffff_ffffL).as("a Last Segment of two descriptors").isEqualTo(32);
        NvmeController model = (NvmeController) machine.device("nv").behaviour();
        assertThat(model.commands()).isPositive();
    }

    @Test
    void anMdtsSmallerThanTheDriversCapIsTheLimit() {
        setUp(withOptions("\"mdts\": \"3\""), "direct", "nv");
        assertThat(nvme.maxTransferBytes()).isEqualTo(32 * 1024);
    }

    @Test
    void badOptionsAndThresholdsAreRefusedWithTheirNames() {
        assertThatThrownBy(() -> withOptions("\"mdts\": \"11\"")).hasMessageContaining("mdts: 11 (expected: an integer 0..10; 0 for no limit)");
        setUp(Machine.createDefault(), "iommu", "nvme0");
        assertThatThrownBy(() -> nvme.setSglThreshold(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("sgl_threshold -1 (expected: >= 0 bytes; 0 turns SGLs off for multi-segment requests)");
    }
}
