package io.dma4j.provider.swiotlb;

import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.DmaMappingException;
import io.dma4j.platform.Machine;
import io.dma4j.platform.description.MachineDescriptionParser;
import io.dma4j.platform.device.CopyEngine;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;
import io.dma4j.runtime.testing.Bytes;
import io.dma4j.spi.BounceService;
import io.dma4j.spi.Metrics;
import io.dma4j.spi.ProviderSettings;
import io.dma4j.spi.RoleContext;
import io.dma4j.runtime.testing.Gauges;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.dma4j.api.DmaDirection.BIDIRECTIONAL;
import static io.dma4j.api.DmaDirection.FROM_DEVICE;
import static io.dma4j.api.DmaDirection.TO_DEVICE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Bounce buffers seen from the device: every direction with map, unmap and syncs. */
class SwiotlbTest {
    private static final long HIGH = 4L << 30;
    private Machine machine;
    private DmaRuntime rt;
    private PhysicalAddressSpace cpu;

    private DmaMapper setUp(Machine m, Map<String, String> config, String device) {
        machine = m;
        cpu = m.addressSpace();
        Map<String, String> c = new HashMap<>(config);
        c.putIfAbsent(RuntimeConfig.DEBUG, "false");
        rt = DmaRuntime.builder().machine(m).config(RuntimeConfig.of(c)).build();
        return rt.mapper(device);
    }

    private DmaMapper legacy32(Map<String, String> config) {
        return setUp(Machine.createDefault(), config, "legacy32");
    }

    @AfterEach
    void close() {
        if (rt != null) {
            rt.close();
        }
        if (machine != null) {
            machine.close();
        }
    }

    private long high(int order) {
        return machine.pageAllocator().allocPages(order, HIGH, Long.MAX_VALUE);
    }

    private long low(int order) {
        return machine.pageAllocator().allocPages(order, 1L << 32);
    }

    /** The device reads {@code len} bytes at {@code dma} into a fresh low buffer, returned by its physical address. */
    private long deviceReads(String device, long dma, long len) {
        long scratch = low(6);
        assertThat(CopyEngine.copy(cpu, machine.device(device).bar(0), dma, scratch, len)).isEqualTo(CopyEngine.STATUS_DONE);
        return scratch;
    }

    /** The device writes {@code len} bytes of pattern {@code seed} to {@code dma}. */
    private void deviceWrites(String device, long dma, long len, long seed) {
        long scratch = low(6);
        Bytes.fill(cpu, scratch, len, seed);
        assertThat(CopyEngine.copy(cpu, machine.device(device).bar(0), scratch, dma, len)).isEqualTo(CopyEngine.STATUS_DONE);
    }

    @Test
    void toDeviceCopiesInAtMapAndAtSyncForDeviceAndNeverBack() {
        DmaMapper m = legacy32(Map.of());
        long orig = high(4) + 0x321;
        long len = 20_000;
        Bytes.fill(cpu, orig, len, 1);
        long dma = m.mapPhys(orig, len, TO_DEVICE, 0);
        assertThat(dma + len).isLessThanOrEqualTo(1L << 32);
        assertThat(Bytes.mismatch(cpu, deviceReads("legacy32", dma, len), len, 1)).isEqualTo(-1);
        Bytes.fill(cpu, orig, len, 2);   // the CPU writes again ...
        assertThat(Bytes.mismatch(cpu, deviceReads("legacy32", dma, len), len, 1)).as("... unseen before a sync").isEqualTo(-1);
        m.syncForDevice(dma, len, TO_DEVICE);
        assertThat(Bytes.mismatch(cpu, deviceReads("legacy32", dma, len), len, 2)).isEqualTo(-1);
        deviceWrites("legacy32", dma, len, 3); // a device that scribbles on a TO_DEVICE buffer
        m.syncForCpu(dma, len, TO_DEVICE);
        m.unmapPhys(dma, len, TO_DEVICE, 0);
        assertThat(Bytes.mismatch(cpu, orig, len, 2)).as("nothing copied back for TO_DEVICE").isEqualTo(-1);
    }

    @Test
    void fromDeviceKeepsOriginalBytesWhereTheDeviceDidNotWrite() {
        DmaMapper m = legacy32(Map.of());
        long orig = high(4) + 0x10;
        long len = 30_000;
        Bytes.fill(cpu, orig, len, 5);
        long dma = m.mapPhys(orig, len, FROM_DEVICE, 0);
        deviceWrites("legacy32", dma, 10_000, 6); // only the first third
        m.unmapPhys(dma, len, FROM_DEVICE, 0);
        assertThat(Bytes.mismatch(cpu, orig, 10_000, 6)).isEqualTo(-1);
        assertThat(Bytes.mismatch(cpu, orig + 10_000, len - 10_000, 5 + 10_000)).as("the rest keeps its original bytes").isEqualTo(-1);
    }

    @Test
    void subRangeSyncForCpuCopiesOnlyItsRange() {
        DmaMapper m = legacy32(Map.of());
        long orig = high(4);
        long len = 16_384;
        Bytes.fill(cpu, orig, len, 7);
        long dma = m.mapPhys(orig, len, FROM_DEVICE, 0);
        deviceWrites("legacy32", dma, len, 8);
        m.syncForCpu(dma + 5000, 3000, FROM_DEVICE);
        assertThat(Bytes.mismatch(cpu, orig, 5000, 7)).isEqualTo(-1);
        assertThat(Bytes.mismatch(cpu, orig + 5000, 3000, 8 + 5000)).isEqualTo(-1);
        assertThat(Bytes.mismatch(cpu, orig + 8000, len - 8000, 7 + 8000)).isEqualTo(-1);
        m.unmapPhys(dma, len, FROM_DEVICE, DmaAttrs.SKIP_CPU_SYNC);
        assertThat(Bytes.mismatch(cpu, orig + 8000, len - 8000, 7 + 8000)).as("SKIP_CPU_SYNC: no copy at unmap").isEqualTo(-1);
    }

    @Test
    void bidirectionalCopiesBothWays() {
        DmaMapper m = legacy32(Map.of());
        long orig = high(2) + 0x800;
        long len = 8000;
        Bytes.fill(cpu, orig, len, 11);
        long dma = m.mapPhys(orig, len, BIDIRECTIONAL, 0);
        assertThat(Bytes.mismatch(cpu, deviceReads("legacy32", dma, len), len, 11)).isEqualTo(-1);
        deviceWrites("legacy32", dma, len, 12);
        m.syncForCpu(dma, len, BIDIRECTIONAL);
        assertThat(Bytes.mismatch(cpu, orig, len, 12)).isEqualTo(-1);
        Bytes.fill(cpu, orig, len, 13);
        m.syncForDevice(dma, len, BIDIRECTIONAL);
        assertThat(Bytes.mismatch(cpu, deviceReads("legacy32", dma, len), len, 13)).isEqualTo(-1);
        deviceWrites("legacy32", dma + 100, 50, 14);
        m.unmapPhys(dma, len, BIDIRECTIONAL, 0);
        assertThat(Bytes.mismatch(cpu, orig + 100, 50, 14)).isEqualTo(-1);
        assertThat(Bytes.mismatch(cpu, orig, 100, 13)).isEqualTo(-1);
    }

    @ParameterizedTest(name = "offset 0x{0}")
    @ValueSource(strings = {"0", "123", "7ff", "800", "a40", "fff"})
    void aMinAlignMaskOf4KiBKeepsTheLow12BitsOfTheOriginal(String hexOffset) {
        Machine m = Machine.create(MachineDescriptionParser.parse("""
                {"memory": [{"base": "1MiB", "size": "1023MiB"}, {"base": "4GiB", "size": "1GiB"}],
                 "devices": [{"name": "nvme32", "model": "copy-engine", "dmaBits": 32, "minAlignMask": "0xfff",
                              "bars": [{"index": 0, "kind": "registers", "address": "0xc0000000", "size": "4KiB"}]}]}""", "nvme32.json"));
        DmaMapper mapper = setUp(m, Map.of(), "nvme32");
        long offset = Long.parseLong(hexOffset, 16);
        long orig = high(3) + offset;
        long len = 9000;
        Bytes.fill(cpu, orig, len, 21);
        long dma = mapper.mapPhys(orig, len, TO_DEVICE, 0);
        assertThat(dma & 0xfff).isEqualTo(orig & 0xfff);
        assertThat(Bytes.mismatch(cpu, deviceReads("nvme32", dma, len), len, 21)).isEqualTo(-1);
        assertThat(mapper.maxMappingSize()).isEqualTo(252 * 1024);
        mapper.unmapPhys(dma, len, TO_DEVICE, 0);
    }

    @Test
    void mappingsOfAPageOrMoreArePageAlignedAndSmallerOnesSlotAligned() {
        DmaMapper m = legacy32(Map.of());
        long orig = high(2) + 0x234;
        long big = m.mapPhys(orig, 4096, TO_DEVICE, 0);
        long small = m.mapPhys(orig, 100, TO_DEVICE, 0);
        assertThat(big % 4096).isZero();
        assertThat(small % 2048).isZero();
        m.unmapPhys(small, 100, TO_DEVICE, 0);
        m.unmapPhys(big, 4096, TO_DEVICE, 0);
    }

    @Test
    void noBounceRunCrossesTheDeviceSegmentBoundary() {
        Machine m = Machine.create(MachineDescriptionParser.parse("""
                {"memory": [{"base": "1MiB", "size": "1023MiB"}, {"base": "4GiB", "size": "1GiB"}],
                 "devices": [{"name": "b64k", "dmaBits": 32, "segmentBoundaryMask": "0xffff"}]}""", "b.json"));
        DmaMapper mapper = setUp(m, Map.of("dma4j.swiotlb.size", "4MiB", "dma4j.swiotlb.areas", "1"), "b64k");
        long orig = high(4);
        List<Long> dmas = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            long dma = mapper.mapPhys(orig, 40_000, TO_DEVICE, 0);
            assertThat(dma >>> 16).as("mapping %d at 0x%x", i, dma).isEqualTo((dma + 40_000 - 1) >>> 16);
            dmas.add(dma);
        }
        for (long dma : dmas) {
            mapper.unmapPhys(dma, 40_000, TO_DEVICE, 0);
        }
    }

    @Test
    void aFullPoolFailsCleanlyAndRecoversWithNoSlotLost() {
        DmaMapper m = legacy32(Map.of("dma4j.swiotlb.size", "1MiB", "dma4j.swiotlb.areas", "1", "dma4j.stats", "true"));
        long orig = high(6);
        List<Long> live = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            live.add(m.mapPhys(orig + i * 262_144L, 262_144, FROM_DEVICE, 0));
        }
        assertThatThrownBy(() -> m.mapPhys(orig, 4096, FROM_DEVICE, 0)).isInstanceOf(DmaMappingException.class)
                .hasMessage("legacy32: cannot map 0x%x (+0x1000): bounce buffer full: swiotlb buffer is full (sz: 4096 bytes), total 512 (slots), used 512 (slots), 1 pool(s)", orig);
        Map<String, Long> s = rt.statistics("legacy32").asMap();
        assertThat(s).containsEntry("bounce.slots.used", 512L).containsEntry("bounce.full", 1L).containsEntry("mappingErrors", 1L)
                .containsEntry("maps", 4L);
        m.unmapPhys(live.removeFirst(), 262_144, FROM_DEVICE, 0);
        long again = m.mapPhys(orig, 4096, FROM_DEVICE, 0);
        m.unmapPhys(again, 4096, FROM_DEVICE, 0);
        for (int i = 0; i < live.size(); i++) {
            m.unmapPhys(live.get(i), 262_144, FROM_DEVICE, 0);
        }
        assertThat(rt.statistics("legacy32").asMap()).containsEntry("bounce.slots.used", 0L).containsEntry("bounce.slots.highWater", 512L)
                .containsEntry("liveBytes", 0L);
        // all 512 slots free again: four whole-segment mappings fit once more
        for (int i = 0; i < 4; i++) {
            m.unmapPhys(m.mapPhys(orig, 262_144, TO_DEVICE, 0), 262_144, TO_DEVICE, 0);
        }
    }

    @Test
    void dynamicPoolsGrowWhenFull() {
        DmaMapper m = legacy32(Map.of("dma4j.swiotlb.size", "1MiB", "dma4j.swiotlb.areas", "1", "dma4j.swiotlb.dynamic", "true"));
        long orig = high(6);
        List<Long> live = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            live.add(m.mapPhys(orig, 262_144, TO_DEVICE, 0));
        }
        assertThat(rt.statistics("legacy32").asMap()).containsEntry("bounce.pools", 2L).containsEntry("bounce.slots.total", 1024L);
        for (long dma : live) {
            m.unmapPhys(dma, 262_144, TO_DEVICE, 0);
        }
        assertThat(rt.statistics("legacy32").asMap()).containsEntry("bounce.slots.used", 0L);
    }

    @Test
    void aMappingLongerThanASegmentFailsInTheSlotSearch() {
        // swiotlb_tbl_map_single does not check swiotlb_max_mapping_size (v6.12): a run of 129
        // slots is simply never found, since a slot's free count stops at its 128-slot segment
        DmaMapper m = legacy32(Map.of());
        assertThat(m.maxMappingSize()).isEqualTo(256 * 1024);
        long orig = high(7);
        assertThatThrownBy(() -> m.mapPhys(orig, 256 * 1024 + 1, TO_DEVICE, 0)).isInstanceOf(DmaMappingException.class)
                .hasMessageContaining("swiotlb buffer is full (sz: 262145 bytes), total 32768 (slots), used 0 (slots)");
        assertThat(rt.statistics("legacy32").asMap()).containsEntry("bounce.slots.used", 0L);
        assertThat(rt.mapper("dmatest0").maxMappingSize()).as("a 64-bit device never bounces").isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void theMaxMappingSizeIsAdviceTheSlotSearchMayExceed() {
        Machine mach = Machine.create(MachineDescriptionParser.parse("""
                {"memory": [{"base": "1MiB", "size": "1023MiB"}, {"base": "4GiB", "size": "1GiB"}],
                 "devices": [{"name": "nvme32", "model": "copy-engine", "dmaBits": 32, "minAlignMask": "0xfff",
                              "bars": [{"index": 0, "kind": "registers", "address": "0xc0000000", "size": "4KiB"}]}]}""", "nvme32.json"));
        DmaMapper m = setUp(mach, Map.of(), "nvme32");
        assertThat(m.maxMappingSize()).as("256 KiB less the 4 KiB min align mask (swiotlb_max_mapping_size)").isEqualTo(252 * 1024);
        long orig = high(7);
        Bytes.fill(cpu, orig, 256 * 1024, 31);
        // page-aligned: no offset to keep, so 128 slots from a segment's first slot fit
        long dma = m.mapPhys(orig, 256 * 1024, TO_DEVICE, 0);
        assertThat(dma & 0xfff).isZero();
        assertThat(Bytes.mismatch(cpu, deviceReads("nvme32", dma, 256 * 1024), 256 * 1024, 31)).isEqualTo(-1);
        m.unmapPhys(dma, 256 * 1024, TO_DEVICE, 0);
        // 0x800 into a page: the offset takes a slot, and 129 slots are never found
        assertThatThrownBy(() -> m.mapPhys(orig + 0x800, 256 * 1024, TO_DEVICE, 0)).isInstanceOf(DmaMappingException.class)
                .hasMessageContaining("swiotlb buffer is full (sz: 262144 bytes)");
    }

    @Test
    void dynamicPoolsRefuseMoreThanASegmentUpFront() {
        DmaMapper m = legacy32(Map.of("dma4j.swiotlb.dynamic", "true"));
        long orig = high(7);
        assertThatThrownBy(() -> m.mapPhys(orig, 256 * 1024 + 1, TO_DEVICE, 0)).isInstanceOf(DmaMappingException.class)
                .hasMessageEndingWith("262145 bytes at offset 0 exceed one 262144-byte swiotlb segment (the most one bounce can take)");
        assertThat(rt.statistics("legacy32").asMap()).as("no pool was added for it").containsEntry("bounce.pools", 1L);
    }

    @Test
    void theFirstBounceMakesUnmapAndSyncNeeded() {
        DmaMapper m = legacy32(Map.of());
        assertThat(m.needUnmap()).isFalse();
        long lowBuf = low(0);
        long d0 = m.mapPhys(lowBuf, 4096, TO_DEVICE, 0);
        assertThat(d0).isEqualTo(lowBuf);
        assertThat(m.needUnmap()).isFalse();
        long d1 = m.mapPhys(high(0), 4096, TO_DEVICE, 0);
        assertThat(m.needUnmap()).isTrue();
        assertThat(m.needSync(d1)).isTrue();
        assertThat(m.needSync(d0)).isFalse();
        m.unmapPhys(d1, 4096, TO_DEVICE, 0);
        m.unmapPhys(d0, 4096, TO_DEVICE, 0);
    }

    @Test
    void encryptedMachinesGetSixPercentOfDramBetween64MiBAnd1GiBAndBounceEverything() {
        Machine m = Machine.create(MachineDescriptionParser.parse("""
                {"memory": [{"base": "1MiB", "size": "3071MiB"}, {"base": "4GiB", "size": "29GiB"}], "encryptedMemory": true,
                 "devices": [{"name": "ce", "model": "copy-engine", "bars": [{"index": 0, "kind": "registers", "address": "0xc0000000", "size": "4KiB"}]}]}""",
                "sev.json"));
        DmaMapper mapper = setUp(m, Map.of(), "ce");
        assertThat(rt.statistics("ce").get(Metrics.BOUNCE_BYTES_TOTAL)).isEqualTo(1L << 30);
        long orig = high(0);
        long dma = mapper.mapPhys(orig, 4096, TO_DEVICE, 0);
        assertThat(dma).as("bounced, not the original").isNotEqualTo(orig);
        assertThat(rt.statistics("ce").get(Metrics.BOUNCE_MAPPINGS)).isEqualTo(1);
        mapper.unmapPhys(dma, 4096, TO_DEVICE, 0);
        assertThat(SwiotlbProvider.defaultSize(Machine.createDefault())).isEqualTo(64L << 20);
    }

    @Test
    void misuseOfBounceAddressesIsCaught() {
        legacy32(Map.of());
        BounceService b = new SwiotlbProvider().createBounceService(new RoleContext(machine, ProviderSettings.EMPTY)); // raw, through the SPI
        Device dev = machine.device("legacy32");
        long orig = high(0);
        long tlb = b.map(dev, orig, 1000, 0, 0, FROM_DEVICE, 0);
        assertThatThrownBy(() -> b.syncForCpu(dev, tlb + 900, 200, FROM_DEVICE)).isInstanceOfSatisfying(DmaApiMisuseException.class,
                e -> assertThat(e.check().id()).isEqualTo("swiotlb-overrun"));
        assertThatThrownBy(() -> b.unmap(dev, tlb + 4096, 1000, FROM_DEVICE, 0)).isInstanceOfSatisfying(DmaApiMisuseException.class,
                e -> assertThat(e.check().id()).isEqualTo("swiotlb-not-mapped"));
        b.unmap(dev, tlb, 1000, FROM_DEVICE, 0);
        assertThatThrownBy(() -> b.unmap(dev, tlb, 1000, FROM_DEVICE, 0)).as("double unmap").isInstanceOf(DmaApiMisuseException.class);
        assertThat(Gauges.of(b)).containsEntry("slots.used", 0L);
    }

    @Test
    void aBadSettingIsNamed() {
        assertThatThrownBy(() -> legacy32(Map.of("dma4j.swiotlb.areas", "3"))).hasMessageContaining("dma4j.swiotlb.areas=3 (expected: a power of two)");
    }
}
