package io.dma4j.runtime;

import io.dma4j.runtime.testing.Bytes;
import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.DmaMappingException;
import io.dma4j.api.IovaState;
import io.dma4j.api.P2pMapType;
import io.dma4j.api.P2pState;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.Machine;
import io.dma4j.platform.description.MachineDescriptionParser;
import io.dma4j.platform.device.CopyEngine;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.device.FaultReason;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.util.Map;

import static io.dma4j.api.DmaDirection.BIDIRECTIONAL;
import static io.dma4j.api.DmaDirection.FROM_DEVICE;
import static io.dma4j.api.DmaDirection.TO_DEVICE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** dma-direct end to end: CPU bytes through the API to the copy engine and back. */
class DirectEndToEndTest {
    private Machine machine;
    private DmaRuntime rt;

    private DmaRuntime runtime(Map<String, String> config, TestBounceProvider bounce) {
        machine = machine == null ? Machine.createDefault() : machine;
        DmaRuntime.Builder b = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(config));
        if (bounce != null) {
            b.addProvider(bounce);
        }
        rt = b.build();
        return rt;
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

    private long copy(String device, long src, long dst, long len) {
        Device d = machine.device(device);
        return CopyEngine.copy(machine.addressSpace(), d.bar(0), src, dst, len);
    }

    @Test
    void bytesMappedToDeviceArriveInAFromDeviceBufferAndReadBackEqual() {
        DmaMapper m = runtime(Map.of(), null).mapper("dmatest0");
        PhysicalAddressSpace cpu = machine.addressSpace();
        long src = machine.pageAllocator().allocPages(4) + 100; // odd offsets inside the pages
        long dst = machine.pageAllocator().allocPages(4) + 300;
        long len = 50_000;
        Bytes.fill(cpu, src, len, 1);
        long srcDma = m.mapPhys(src, len, TO_DEVICE, DmaAttrs.NONE);
        long dstDma = m.mapPhys(dst, len, FROM_DEVICE, DmaAttrs.NONE);
        assertThat(srcDma).isEqualTo(src);
        assertThat(dstDma).isEqualTo(dst);
        assertThat(copy("dmatest0", srcDma, dstDma, len)).isEqualTo(CopyEngine.STATUS_DONE);
        m.syncForCpu(dstDma, len, FROM_DEVICE);
        m.unmapPhys(dstDma, len, FROM_DEVICE, DmaAttrs.NONE);
        m.unmapPhys(srcDma, len, TO_DEVICE, DmaAttrs.NONE);
        assertThat(Bytes.mismatch(cpu, dst, len, 1)).isEqualTo(-1);
        Map<String, Long> s = rt.statistics("dmatest0").asMap();
        assertThat(s).containsEntry("maps", 2L).containsEntry("unmaps", 2L).containsEntry("liveBytes", 0L)
                .containsEntry("peakLiveBytes", 2 * len).containsEntry("deviceBytesRead", len).containsEntry("deviceBytesWritten", len)
                .containsEntry("faults", 0L);
        assertThat(rt.liveMappings("dmatest0")).isZero();
    }

    @Test
    void outOfMaskAddressWithoutBounceRoleIsRefusedAndChangesNothing() {
        DmaMapper m = runtime(Map.of(), null).mapper("legacy32");
        long high = 6L << 30;
        assertThatThrownBy(() -> m.mapPhys(high, 8192, TO_DEVICE, DmaAttrs.NONE))
                .isInstanceOf(DmaMappingException.class)
                .hasMessage("legacy32: cannot map 0x180000000 (+0x2000): bus address 0x180000000 + 0x2000 is above the DMA mask 0xffffffff"
                        + " and no bounce-buffer provider is installed");
        assertThat(rt.statistics("legacy32").asMap()).containsEntry("maps", 0L).containsEntry("mappingErrors", 1L).containsEntry("liveBytes", 0L);
        assertThat(rt.liveMappings("legacy32")).isZero();
    }

    @Test
    void theMaskCheckIsExactToTheByte() {
        machine = Machine.create(MachineDescriptionParser.parse("""
                {"memory": [{"base": "1MiB", "size": "8191MiB"}],
                 "devices": [{"name": "d32", "dmaBits": 32, "rangeOffset": "0x1000"}]}""", "mask.json"));
        DmaMapper m = runtime(Map.of(), null).mapper("d32");
        // bus = phys + 0x1000: a range whose bus end is exactly 4 GiB maps, one byte more does not
        long phys = (1L << 32) - 0x2000;
        assertThat(m.mapPhys(phys, 4096, TO_DEVICE, DmaAttrs.NONE)).isEqualTo(0xFFFF_F000L);
        assertThatThrownBy(() -> m.mapPhys(phys, 4097, TO_DEVICE, DmaAttrs.NONE)).isInstanceOf(DmaMappingException.class)
                .hasMessageContaining("bus address 0xfffff000 + 0x1001 is above the DMA mask 0xffffffff");
        m.unmapPhys(0xFFFF_F000L, 4096, TO_DEVICE, DmaAttrs.NONE);
        assertThat(m.requiredMask()).as("last DRAM byte 0x1_ffff_ffff plus the 0x1000 offset needs 34 bits").isEqualTo(0x3_FFFF_FFFFL);
    }

    @Test
    void outOfMaskAddressBouncesThroughTheBounceRole() {
        TestBounceProvider bounce = new TestBounceProvider();
        DmaMapper m = runtime(Map.of(), bounce).mapper("legacy32");
        PhysicalAddressSpace cpu = machine.addressSpace();
        long src = (5L << 30) + 0x123;
        long dst = (6L << 30) + 0x456;
        long len = 10_000;
        Bytes.fill(cpu, src, len, 7);
        Bytes.fill(cpu, dst, len, 99);
        assertThat(m.needUnmap()).isTrue(); // debug is on
        long s = m.mapPhys(src, len, TO_DEVICE, DmaAttrs.NONE);
        long d = m.mapPhys(dst, len, FROM_DEVICE, DmaAttrs.NONE);
        assertThat(s).isLessThan(1L << 32);
        assertThat(d).isLessThan(1L << 32);
        assertThat(m.needSync(d)).isTrue();
        assertThat(m.needSync(src)).isFalse();
        assertThat(m.maxMappingSize()).isEqualTo(256 * 1024);
        assertThat(copy("legacy32", s, d, len)).isEqualTo(CopyEngine.STATUS_DONE);
        assertThat(Bytes.mismatch(cpu, dst, len, 99)).as("original untouched until sync").isEqualTo(-1);
        m.syncForCpu(d, len, FROM_DEVICE);
        assertThat(Bytes.mismatch(cpu, dst, len, 7)).isEqualTo(-1);
        m.unmapPhys(d, len, FROM_DEVICE, DmaAttrs.NONE);
        m.unmapPhys(s, len, TO_DEVICE, DmaAttrs.NONE);
        assertThat(bounce.maps.get()).isEqualTo(2);
        assertThat(rt.statistics("legacy32").asMap()).containsEntry("bounce.inUse", 0L);
    }

    @Test
    void forcedBouncingNeedsABounceRole() {
        DmaMapper m = runtime(Map.of("dma4j.direct.forceBounce", "true"), null).mapper("dmatest0");
        long p = machine.pageAllocator().allocPages(0);
        assertThatThrownBy(() -> m.mapPhys(p, 4096, TO_DEVICE, DmaAttrs.NONE)).isInstanceOf(DmaMappingException.class)
                .hasMessageEndingWith("every mapping must bounce (forceBounce) and no bounce-buffer provider is installed");
    }

    @Test
    void encryptedMemoryBouncesEveryStreamingMapping() {
        machine = Machine.create(MachineDescriptionParser.parse("""
                {"memory": [{"base": "1MiB", "size": "1GiB"}], "encryptedMemory": true,
                 "devices": [{"name": "ce", "model": "copy-engine", "bars": [{"index": 0, "kind": "registers", "address": "0xc0000000", "size": "4KiB"}]}]}""",
                "enc.json"));
        TestBounceProvider bounce = new TestBounceProvider();
        DmaMapper m = runtime(Map.of(), bounce).mapper("ce");
        long p = machine.pageAllocator().allocPages(0);
        long dma = m.mapPhys(p, 4096, BIDIRECTIONAL, DmaAttrs.NONE);
        assertThat(dma).isNotEqualTo(p);
        assertThat(bounce.maps.get()).isEqualTo(1);
        assertThatThrownBy(() -> m.mapPhys(p, 64, TO_DEVICE, DmaAttrs.REQUIRE_COHERENT)).isInstanceOf(DmaMappingException.class)
                .hasMessageContaining("REQUIRE_COHERENT is set but the mapping would need bouncing");
        m.unmapPhys(dma, 4096, BIDIRECTIONAL, DmaAttrs.NONE);
        assertThat(m.addressingLimited()).as("every mapping bounces: limited whatever the mask").isTrue();
    }

    /**
     * {@code dma_addressing_limited} (kernel/dma/mapping.c, 6.18): the mask (or bus limit)
     * below {@code dma_get_required_mask}. The default machine's RAM ends above 4 GiB, so a
     * 32-bit device is limited and a 64-bit one is not; the mask change is seen at once.
     */
    @Test
    void addressingLimitedFollowsTheMaskAgainstTheRequiredMask() {
        runtime(Map.of(), null);
        DmaMapper narrow = rt.mapper("legacy32");
        DmaMapper wide = rt.mapper("dmatest0");
        assertThat(narrow.addressingLimited()).isTrue();
        assertThat(wide.addressingLimited()).isFalse();
        wide.setMask(0xFFFF_FFFFL);
        assertThat(wide.addressingLimited()).isTrue();
        wide.setMask(-1L);
        assertThat(wide.addressingLimited()).isFalse();
    }

    @Test
    void badArgumentsAreRefusedBeforeAnythingChanges() {
        DmaMapper m = runtime(Map.of(), null).mapper("dmatest0");
        long p = machine.pageAllocator().allocPages(0);
        assertThatThrownBy(() -> m.mapPhys(p, 0, TO_DEVICE, DmaAttrs.NONE)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("dmatest0: mapPhys(0x%x, size 0): size must be > 0", p);
        assertThatThrownBy(() -> m.mapPhys(-4096L, 8192, TO_DEVICE, DmaAttrs.NONE)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("dmatest0: mapPhys(0xfffffffffffff000, size 0x2000): the range wraps around the address space");
        assertThatThrownBy(() -> m.mapPhys(p, 4096, DmaDirection.NONE, DmaAttrs.NONE)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("dmatest0: mapPhys: direction NONE is not valid for a mapping (expected BIDIRECTIONAL, TO_DEVICE or FROM_DEVICE)");
        assertThatThrownBy(() -> m.mapPhys(p, 4096, null, DmaAttrs.NONE)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("direction null is not valid");
        assertThatThrownBy(() -> m.mapPhys(p, 4096, TO_DEVICE, 1 << 20)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("dmatest0: mapPhys: unknown attribute bits 0x100000");
        assertThatThrownBy(() -> m.allocCoherent(8L << 20, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("dmatest0: allocCoherent(size 8388608): expected 1..4194304 bytes (the page allocator's largest block)");
        assertThatThrownBy(() -> m.mapSg(new ScatterList(2), 3, TO_DEVICE, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("dmatest0: mapSg: nents 3 (expected: 1..2, the list's capacity)");
        assertThat(rt.statistics("dmatest0").asMap()).containsEntry("maps", 0L).containsEntry("liveBytes", 0L).containsEntry("mappingErrors", 0L);
        assertThat(rt.liveMappings("dmatest0")).isZero();
    }

    @Test
    void unmappingAnUnknownAddressOrWithTheWrongDirectionIsMisuseAndKeepsTheMapping() {
        DmaMapper m = runtime(Map.of(), null).mapper("dmatest0");
        long p = machine.pageAllocator().allocPages(0);
        assertThatThrownBy(() -> m.unmapPhys(0x1234_0000L, 4096, TO_DEVICE, DmaAttrs.NONE))
                .isInstanceOfSatisfying(DmaApiMisuseException.class, e -> assertThat(e.check().id()).isEqualTo("unmap-never-mapped"))
                .hasMessage("dmatest0: DMA-API: device driver tries to free DMA memory it has not allocated [device address=0x12340000] [size=4096 bytes]");
        long dma = m.mapPhys(p, 4096, TO_DEVICE, DmaAttrs.NONE);
        assertThatThrownBy(() -> m.unmapPhys(dma, 4096, FROM_DEVICE, DmaAttrs.NONE))
                .isInstanceOf(DmaApiMisuseException.class)
                .hasMessageContaining("frees DMA memory with different direction").hasMessageContaining("[mapped with TO_DEVICE] [unmapped with FROM_DEVICE]");
        assertThat(rt.liveMappings("dmatest0")).isEqualTo(1);
        m.unmapPhys(dma, 4096, TO_DEVICE, DmaAttrs.NONE);
        assertThat(rt.liveMappings("dmatest0")).isZero();
    }

    @Test
    void scatterListsMapEntryByEntryWithoutMerging() {
        DmaMapper m = runtime(Map.of(), null).mapper("dmatest0");
        PhysicalAddressSpace cpu = machine.addressSpace();
        long a = machine.pageAllocator().allocPages(0);
        long b = machine.pageAllocator().allocPages(0); // physically adjacent to a: dma-direct still does not merge
        long c = machine.pageAllocator().allocPages(2) + 512;
        long out = machine.pageAllocator().allocPages(3);
        ScatterList sg = new ScatterList(4).set(0, a, 4096).set(1, b, 4096).set(2, c, 1000);
        Bytes.fill(cpu, a, 4096, 1);
        Bytes.fill(cpu, b, 4096, 2);
        Bytes.fill(cpu, c, 1000, 3);
        int n = m.mapSg(sg, 3, TO_DEVICE, DmaAttrs.NONE);
        assertThat(n).isEqualTo(3);
        long outDma = m.mapPhys(out, 3 * 4096, FROM_DEVICE, DmaAttrs.NONE);
        long at = 0;
        for (int i = 0; i < n; i++) {
            assertThat(sg.dmaAddress(i)).isEqualTo(sg.phys(i));
            assertThat(copy("dmatest0", sg.dmaAddress(i), outDma + at, sg.dmaLength(i))).isEqualTo(CopyEngine.STATUS_DONE);
            at += sg.dmaLength(i);
        }
        m.unmapPhys(outDma, 3 * 4096, FROM_DEVICE, DmaAttrs.NONE);
        m.unmapSg(sg, 3, TO_DEVICE, DmaAttrs.NONE);
        assertThat(Bytes.mismatch(cpu, out, 4096, 1)).isEqualTo(-1);
        assertThat(Bytes.mismatch(cpu, out + 4096, 4096, 2)).isEqualTo(-1);
        assertThat(Bytes.mismatch(cpu, out + 8192, 1000, 3)).isEqualTo(-1);
        assertThat(rt.statistics("dmatest0").asMap()).containsEntry("sgMaps", 1L).containsEntry("sgSegments", 3L).containsEntry("liveBytes", 0L);
    }

    @Test
    void coherentMemoryIsSharedWithoutSyncsAndReachableUnderTheCoherentMask() {
        DmaMapper m = runtime(Map.of(), null).mapper("legacy32");
        CoherentBuffer buf = m.allocCoherent(10_000, DmaAttrs.NONE);
        assertThat(buf.dmaAddress()).isEqualTo(buf.phys());
        assertThat(buf.dmaAddress() + 16384).isLessThanOrEqualTo(1L << 32);
        assertThat(buf.dmaAddress() % 16384).as("naturally aligned to its order").isZero();
        assertThat(buf.cpu().byteSize()).isEqualTo(10_000);
        buf.cpu().set(ValueLayout.JAVA_LONG_UNALIGNED, 0, 0x1122334455667788L);
        assertThat(copy("legacy32", buf.dmaAddress(), buf.dmaAddress() + 4096, 8)).isEqualTo(CopyEngine.STATUS_DONE);
        assertThat(buf.cpu().get(ValueLayout.JAVA_LONG_UNALIGNED, 4096)).isEqualTo(0x1122334455667788L);
        long pages = machine.pageAllocator().allocatedPages();
        m.freeCoherent(buf);
        assertThat(machine.pageAllocator().allocatedPages()).isEqualTo(pages - 4);
    }

    @Test
    void twoStepCallsFallBackOnDirect() {
        DmaMapper m = runtime(Map.of(), null).mapper("dmatest0");
        IovaState state = new IovaState();
        io.dma4j.spi.MappingStates.setIova(state, 0x1000, 0x2000); // stale content: try-alloc must zero it
        assertThat(m.iovaTryAlloc(state, 0x1000, 0x4000)).isFalse();
        assertThat(state.useIova()).isFalse();
        assertThat(state.addr()).isZero();
        assertThatThrownBy(() -> m.iovaLink(state, 0x100000, 0, 4096, TO_DEVICE, 0))
                .isInstanceOfSatisfying(DmaApiMisuseException.class, e -> assertThat(e.check().id()).isEqualTo("iova-no-space"))
                .hasMessageContaining("iovaLink on a state that holds no IOVA space");
        assertThat(rt.statistics("dmatest0").asMap()).containsEntry("iovaAllocFallbacks", 1L).containsEntry("iovaAllocs", 0L);
    }

    @Test
    void queriesAnswerAsDmaDirectDoes() {
        DmaMapper withDebug = runtime(Map.of(), null).mapper("dmatest0");
        assertThat(withDebug.needUnmap()).isTrue();
        rt.close();
        DmaMapper m = runtime(Map.of("dma4j.debug", "false"), null).mapper("dmatest0");
        assertThat(m.needUnmap()).isFalse();
        assertThat(m.needSync(0x10_0000)).isFalse();
        assertThat(m.maxMappingSize()).isEqualTo(Long.MAX_VALUE);
        assertThat(m.optMappingSize()).isEqualTo(Long.MAX_VALUE);
        assertThat(m.mergeBoundary()).isZero();
        assertThat(m.requiredMask()).isEqualTo(0x7_FFFF_FFFFL); // DRAM ends at 18 GiB
        assertThat(m.maxSegmentSize()).isEqualTo(64 * 1024);
        assertThat(m.segmentBoundary()).isEqualTo(-1L);
        assertThatThrownBy(() -> m.setMask(0xFF_FFFFL)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("dmatest0: setMask(0xffffff): the direct backend cannot honour this mask (dma_supported is false; the mask that reaches all RAM is 0x7ffffffff)");
        m.setMask(0xFFFF_FFFFL);
        assertThat(m.getMask()).isEqualTo(0xFFFF_FFFFL);
        DmaMapper legacy = rt.mapper("legacy32");
        assertThatThrownBy(() -> legacy.setMask(-1L)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("legacy32: setMask(0xffffffffffffffff): the device drives only 32 address bits (mask 0xffffffff)");
        assertThatThrownBy(() -> legacy.setMask(0x1000)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2^n - 1");
    }

    @Test
    void peerMemoryNeedsAClassifierAndTheHostBridgeDecidesWhatAResourceMappingReaches() {
        DmaMapper m = runtime(Map.of(), null).mapper("dmatest0");
        long cmb = machine.device("nvme0").bar(2).cpuAddress();
        P2pState st = new P2pState();
        assertThat(m.p2pMapType(st, cmb + 4096)).isEqualTo(P2pMapType.NOT_SUPPORTED);
        assertThat(st.covers(cmb + 8192)).isTrue();
        assertThat(m.p2pMapType(st, 0x10_0000)).isEqualTo(P2pMapType.NONE);
        ScatterList sg = new ScatterList(1).set(0, cmb, 4096);
        assertThatThrownBy(() -> m.mapSg(sg, 1, FROM_DEVICE, 0)).isInstanceOf(DmaMappingException.class)
                .hasMessageContaining("peer memory nvme0.bar2 is not reachable: no P2P classifier is installed (-EREMOTEIO)");
        // a resource mapping of the CMB maps, but the default machine's host bridge does not
        // forward peer traffic: the write goes up to hb0 and is blocked there
        long src = machine.pageAllocator().allocPages(0);
        Bytes.fill(machine.addressSpace(), src, 4096, 5);
        machine.addressSpace().writeLong(cmb, 77);
        long s = m.mapPhys(src, 4096, TO_DEVICE, 0);
        long d = m.mapPhys(cmb, 4096, FROM_DEVICE, DmaAttrs.MMIO);
        assertThat(d).isEqualTo(cmb);
        assertThat(copy("dmatest0", s, d, 4096)).isEqualTo(CopyEngine.STATUS_FAULT);
        assertThat(machine.faultLog().last().reason()).isEqualTo(FaultReason.P2P_BLOCKED);
        assertThat(machine.addressSpace().readLong(cmb)).isEqualTo(77);
        m.unmapPhys(d, 4096, FROM_DEVICE, DmaAttrs.MMIO);
        m.unmapPhys(s, 4096, TO_DEVICE, 0);
    }

    @Test
    void anUnmappedBusAddressFaultsInTheFaultLog() {
        runtime(Map.of(), null).mapper("legacy32");
        long dst = machine.pageAllocator().allocPages(0, 1L << 32);
        assertThat(copy("legacy32", 0x2_0000_0000L, dst, 64)).isEqualTo(CopyEngine.STATUS_FAULT);
        assertThat(machine.faultLog().last().reason()).isEqualTo(FaultReason.OUT_OF_RANGE);
        assertThat(rt.statistics("legacy32").asMap()).containsEntry("faults", 1L);
    }
}
