package io.dma4j.consumers.nvme;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.hw.nvme.Nvme;
import io.dma4j.platform.Machine;
import io.dma4j.platform.description.MachineDescriptionParser;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;
import io.dma4j.runtime.testing.Bytes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The NVMe driver and controller model over every backend: bytes written come back byte for byte. */
class NvmeTest {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private Machine machine;
    private DmaRuntime rt;
    private PhysicalAddressSpace cpu;
    private NvmeDriver nvme;
    private long lbaCursor;

    private void setUp(Machine m, Map<String, String> config, String device) {
        machine = m;
        cpu = m.addressSpace();
        rt = DmaRuntime.builder().machine(m).config(RuntimeConfig.of(config)).build();
        nvme = new NvmeDriver(rt.mapper(device), cpu);
    }

    private static Machine lab(String devices, boolean encrypted) {
        return Machine.create(MachineDescriptionParser.parse("""
                {"memory": [{"base": "1MiB", "size": "1023MiB"}, {"base": "4GiB", "size": "1GiB"}], "encryptedMemory": ENC,
                 "iommus": [{"name": "mmu"}],
                 "fabric": [{"name": "hb", "type": "host-bridge"}, {"name": "rp", "type": "root-port", "parent": "hb"}],
                 "devices": [ DEVICES ]}""".replace("ENC", Boolean.toString(encrypted)).replace("DEVICES", devices), "lab.json"));
    }

    @AfterEach
    void tearDown() {
        if (rt != null) {
            rt.close();
        }
        if (machine != null) {
            machine.close();
        }
    }

    /** Writes segments of the given layout, reads them back into fresh buffers of the same layout, compares. */
    private void roundTrip(long[] offsets, long[] lengths, boolean high) {
        int n = offsets.length;
        long[] src = new long[n];
        long[] dst = new long[n];
        long seed = lbaCursor * 31 + 7;
        for (int i = 0; i < n; i++) {
            int order = io.dma4j.platform.memory.PageAllocator.orderFor(offsets[i] + lengths[i]);
            src[i] = (high ? machine.pageAllocator().allocPages(order, 4L << 30, Long.MAX_VALUE) : machine.pageAllocator().allocPages(order)) + offsets[i];
            dst[i] = (high ? machine.pageAllocator().allocPages(order, 4L << 30, Long.MAX_VALUE) : machine.pageAllocator().allocPages(order)) + offsets[i];
            Bytes.fill(cpu, src[i], lengths[i], seed + i);
        }
        long total = 0;
        for (long l : lengths) {
            total += l;
        }
        long lba = lbaCursor;
        lbaCursor += total / Nvme.LBA + 8;
        assertThat(nvme.write(lba, src, lengths, n)).as("write status").isZero();
        assertThat(nvme.read(lba, dst, lengths, n)).as("read status").isZero();
        for (int i = 0; i < n; i++) {
            assertThat(Bytes.mismatch(cpu, dst[i], lengths[i], seed + i)).as("segment %d", i).isEqualTo(-1);
        }
    }

    private void everyShape(boolean high) {
        roundTrip(new long[] {0}, new long[] {4096}, high);
        roundTrip(new long[] {0x204}, new long[] {12 * 1024}, high);                       // odd (dword) offset
        roundTrip(new long[] {0}, new long[] {8192}, high);                                // ends exactly at a page: PRP2 is data
        roundTrip(new long[] {0x600, 0, 0}, new long[] {0xA00, 0x1000, 0x400}, high);      // three segments, no gaps
        long[] offs = new long[32];
        long[] lens = new long[32];
        java.util.Arrays.fill(lens, 4096);
        roundTrip(offs, lens, high);                                                       // 128 KiB in 32 pages
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"direct", "iommu-strict", "iommu-lazy"})
    void readAfterWriteIsByteExact(String path) {
        Map<String, String> c = new HashMap<>();
        if (path.equals("direct")) {
            c.put("dma4j.backend.nvme0", "direct");
        } else {
            c.put("dma4j.iommu.mode", path.substring(6));
        }
        setUp(Machine.createDefault(), c, "nvme0");
        everyShape(false);
        assertThat(rt.debugReports()).isEmpty();
    }

    @Test
    void anSlbaWhoseByteOffsetOverflowsIsOutOfRange() {
        // found by NvmeSubmissionFuzzTest: SLBA 2^54 - 76 times 512 wrapped to a small offset
        // and the controller read its namespace at a negative offset instead of answering
        setUp(Machine.createDefault(), Map.of(), "nvme0");
        CoherentBuffer page = nvme.descriptorPage();
        long slba = (1L << 54) - 76;
        assertThat(nvme.submitIo(Nvme.IO_READ, Nvme.PSDT_PRP, slba, 77, page.dmaAddress(), 0)).isEqualTo(Nvme.SC_LBA_OUT_OF_RANGE);
        assertThat(nvme.submitIo(Nvme.IO_WRITE, Nvme.PSDT_PRP, Long.MAX_VALUE / 256, 0, page.dmaAddress(), 0)).isEqualTo(Nvme.SC_LBA_OUT_OF_RANGE);
        nvme.releaseDescriptorPages();
    }

    @Test
    void aThirtyTwoBitControllerBouncesThroughSwiotlb() {
        setUp(lab("""
                {"name": "nvme32", "model": "nvme", "port": "rp", "dmaBits": 32, "minAlignMask": "0xfff",
                 "bars": [{"index": 0, "kind": "registers", "address": "0xc0000000", "size": "16KiB"}]}""", false), Map.of(), "nvme32");
        everyShape(true);
        assertThat(rt.statistics("nvme32").asMap().get("bounce.mappings")).isPositive();
        assertThat(rt.statistics("nvme32").asMap()).containsEntry("bounce.slots.used", 0L);
    }

    @Test
    void anUntrustedControllerBouncesUnalignedHeadsAndTails() {
        setUp(lab("""
                {"name": "ext", "model": "nvme", "port": "rp", "untrusted": true, "iommu": "mmu", "minAlignMask": "0xfff",
                 "bars": [{"index": 0, "kind": "registers", "address": "0xc0000000", "size": "16KiB"}]}""", false), Map.of(), "ext");
        everyShape(false);
        assertThat(rt.statistics("ext").asMap().get("bounce.mappings")).isPositive();
        assertThat(rt.statistics("ext").asMap()).containsEntry("bounce.slots.used", 0L);
    }

    @Test
    void encryptedMemoryBouncesEverything() {
        setUp(lab("""
                {"name": "sev", "model": "nvme", "port": "rp",
                 "bars": [{"index": 0, "kind": "registers", "address": "0xc0000000", "size": "16KiB"}]}""", true), Map.of(), "sev");
        everyShape(false);
        assertThat(rt.statistics("sev").asMap().get("bounce.mappings")).isPositive();
    }

    @Test
    void theControllersOwnCmbServesAsPeerMemory() {
        setUp(Machine.createDefault(), Map.of(), "nvme0");
        long cmb = machine.device("nvme0").bar(2).cpuAddress();
        Bytes.fill(cpu, cmb + 0x3000, 8192, 77);
        assertThat(nvme.write(100, new long[] {cmb + 0x3000}, new long[] {8192}, 1)).isZero();
        assertThat(nvme.lastBookkeepingBytes()).as("bus addresses need no unmapping").isZero();
        long dst = machine.pageAllocator().allocPages(1);
        assertThat(nvme.read(100, new long[] {dst}, new long[] {8192}, 1)).isZero();
        assertThat(Bytes.mismatch(cpu, dst, 8192, 77)).isEqualTo(-1);
    }

    @Test
    void prpListsFillExactlyAndChainAcrossPages() {
        setUp(Machine.createDefault(), Map.of("dma4j.backend.nvme0", "direct", "dma4j.debug", "false"), "nvme0");
        // 2 MiB + 4 KiB in single pages: PRP1 plus a list of exactly 512 entries (no chain needed)
        long[] offs = new long[256];
        long[] lens = new long[256];
        java.util.Arrays.fill(lens, 4096);
        roundTrip(offs, lens, false);
        assertThat(nvme.lastUsedSgl()).as("average 4 KiB: PRPs").isFalse();
        assertThat(nvme.lastBookkeepingBytes()).as("coherent dma-direct, debug off: nothing to unmap").isZero();
        // 2 MiB + 8 KiB as three segments: 513 list entries, so the first list page chains to a second
        long chunk = 1L << 20;
        roundTrip(new long[] {0, 0, 0}, new long[] {chunk, chunk, 8192}, false);
    }

    @Test
    void coalescedRequestsUseOneSglDescriptorAndKeepSixteenBytes() {
        setUp(Machine.createDefault(), Map.of("dma4j.debug", "false"), "nvme0");
        long[] offs = new long[16];
        long[] lens = new long[16];
        java.util.Arrays.fill(lens, 4096);
        roundTrip(offs, lens, false);
        assertThat(nvme.lastUsedSgl()).as("one IOVA range of 64 KiB reaches the SGL threshold").isTrue();
        assertThat(nvme.lastBookkeepingBytes()).isEqualTo(16);
    }

    @Test
    void theScatterListPathStillWorksAndKeepsAnEntryPerSegment() {
        setUp(Machine.createDefault(), Map.of("dma4j.debug", "false"), "nvme0");
        nvme.setScatterList(true);
        everyShape(false);
        assertThat(nvme.lastBookkeepingBytes()).as("32 bytes per scatterlist entry, 32 entries").isEqualTo(32 * 32);
    }

    @Test
    void aFileBackedNamespaceKeepsTheBytesInTheFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path file = dir.resolve("ns.img");
        setUp(lab("""
                {"name": "fnv", "model": "nvme", "port": "rp", "minAlignMask": "0xfff",
                 "modelOptions": {"namespaceFile": "FILE", "namespaceSize": "64MiB"},
                 "bars": [{"index": 0, "kind": "registers", "address": "0xc0000000", "size": "16KiB"}]}""".replace("FILE", file.toString()), false),
                Map.of(), "fnv");
        long p = machine.pageAllocator().allocPages(0);
        Bytes.fill(cpu, p, 4096, 9);
        assertThat(nvme.write(16, new long[] {p}, new long[] {4096}, 1)).isZero();
        byte[] onDisk = java.nio.file.Files.readAllBytes(file);
        assertThat(onDisk.length).isGreaterThanOrEqualTo(16 * 512 + 4096);
        for (int i = 0; i < 4096; i++) {
            assertThat(onDisk[16 * 512 + i]).isEqualTo(Bytes.pattern(9, i));
        }
        roundTrip(new long[] {0x200}, new long[] {8192}, false);
    }

    @Test
    void aBadModelOptionIsRefusedWithTheFileAndThePath() {
        String json = MachineDescriptionParser.defaultJson().replace("\"name\": \"nvme0\", \"model\": \"nvme\",",
                "\"name\": \"nvme0\", \"model\": \"nvme\", \"modelOptions\": {\"namespaceSize\": \"12 furlongs\"},");
        assertThatThrownBy(() -> Machine.create(MachineDescriptionParser.parse(json, "opts.json")))
                .isInstanceOf(io.dma4j.platform.description.MachineDescriptionException.class)
                .hasMessageStartingWith("opts.json: $.devices[0].modelOptions: device model nvme: namespaceSize: ");
        String odd = json.replace("12 furlongs", "1000");
        assertThatThrownBy(() -> Machine.create(MachineDescriptionParser.parse(odd, "opts.json")))
                .hasMessage("opts.json: $.devices[0].modelOptions: device model nvme: namespaceSize: 1000 (expected: a positive multiple of 512 bytes)");
    }

    @Test
    void lookingAtAMachineWritesNoNamespaceFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path file = dir.resolve("never.img");
        String json = MachineDescriptionParser.defaultJson().replace("\"name\": \"nvme0\", \"model\": \"nvme\",",
                "\"name\": \"nvme0\", \"model\": \"nvme\", \"modelOptions\": {\"namespaceFile\": \"" + file + "\"},");
        try (Machine m = Machine.create(MachineDescriptionParser.parse(json, "inspect.json"))) {
            assertThat(m.device("nvme0").modelOptions()).containsEntry("namespaceFile", file.toString());
        }
        assertThat(java.nio.file.Files.exists(file)).as("building and closing a machine (dmactl machine) creates no file").isFalse();
        io.dma4j.devices.nvme.Namespace ns = io.dma4j.devices.nvme.Namespace.inFile(file, 1 << 20);
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment buf = arena.allocate(512);
            buf.fill((byte) 7);
            ns.read(0, buf, 0, 512);
            assertThat(buf.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 100)).isZero();
            assertThat(java.nio.file.Files.exists(file)).as("a read of a namespace never written creates nothing").isFalse();
            buf.fill((byte) 7);
            ns.write(4096, buf, 0, 512);
            assertThat(java.nio.file.Files.size(file)).isEqualTo(4096 + 512);
        } finally {
            ns.close();
        }
    }

    @Test
    void theControllerRejectsMalformedDataPointers() {
        setUp(Machine.createDefault(), Map.of("dma4j.backend.nvme0", "direct"), "nvme0");
        long data = machine.pageAllocator().allocPages(2);
        CoherentBuffer list = nvme.descriptorPage();
        list.cpu().set(LONG, 0, data + 4096 + 0x10); // a list entry with an offset
        list.cpu().set(LONG, 8, data + 8192);
        assertThat(nvme.submitIo(Nvme.IO_WRITE, Nvme.PSDT_PRP, 0, 23, data, list.dmaAddress())).isEqualTo(Nvme.SC_INVALID_PRP_OFFSET);
        assertThat(nvme.submitIo(Nvme.IO_WRITE, Nvme.PSDT_PRP, 0, 15, data, data + 4096 + 8)).as("PRP2 data pointer with an offset")
                .isEqualTo(Nvme.SC_INVALID_PRP_OFFSET);
        CoherentBuffer sgl = nvme.descriptorPage();
        sgl.cpu().set(LONG, 0, data);
        sgl.cpu().set(LONG, 8, 4096L | ((long) (Nvme.SGL_SEGMENT << 4) << 56)); // a Segment where data blocks must be
        assertThat(nvme.submitIo(Nvme.IO_WRITE, Nvme.PSDT_SGL, 0, 7, sgl.dmaAddress(), 16L | ((long) (Nvme.SGL_LAST_SEGMENT << 4) << 56)))
                .isEqualTo(Nvme.SC_SGL_DESCRIPTOR_TYPE_INVALID);
        sgl.cpu().set(LONG, 8, 2048L); // data block of 2 KiB for a 4 KiB command
        assertThat(nvme.submitIo(Nvme.IO_WRITE, Nvme.PSDT_SGL, 0, 7, sgl.dmaAddress(), 16L | ((long) (Nvme.SGL_LAST_SEGMENT << 4) << 56)))
                .isEqualTo(Nvme.SC_DATA_SGL_LENGTH_INVALID);
        assertThat(nvme.submitIo(Nvme.IO_WRITE, Nvme.PSDT_PRP, 0, 7, 0x9000_0000L, 0)).as("a hole: the DMA faults")
                .isEqualTo(Nvme.SC_DATA_TRANSFER_ERROR);
        nvme.releaseDescriptorPages();
    }

    @Test
    void badRequestsAreRefusedBeforeAnythingIsMapped() {
        setUp(Machine.createDefault(), Map.of(), "nvme0");
        long p = machine.pageAllocator().allocPages(0);
        int queues = rt.liveMappings("nvme0"); // the driver's coherent queues
        assertThatThrownBy(() -> nvme.write(0, new long[] {p}, new long[] {100}, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected: a multiple of 512");
        // behind the IOMMU: min(NVME_MAX_BYTES, dma_opt_mapping_size = the IOVA rcache range 128 KiB, MDTS 4 MiB)
        assertThat(nvme.maxTransferBytes()).isEqualTo(128L << 10);
        assertThat(rt.liveMappings("nvme0")).isEqualTo(queues);
    }
}
