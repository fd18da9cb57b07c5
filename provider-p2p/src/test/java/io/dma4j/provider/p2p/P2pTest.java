package io.dma4j.provider.p2p;

import io.dma4j.api.DmaMapper;
import io.dma4j.api.DmaMappingException;
import io.dma4j.api.P2pMapType;
import io.dma4j.api.P2pState;
import io.dma4j.api.PeerMemoryAllocator;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.Machine;
import io.dma4j.platform.description.MachineDescriptionParser;
import io.dma4j.platform.device.CopyEngine;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.device.FaultReason;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.platform.pci.Bar;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;
import io.dma4j.runtime.testing.Bytes;
import io.dma4j.spi.P2pClassifier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.dma4j.api.DmaDirection.FROM_DEVICE;
import static io.dma4j.api.DmaDirection.TO_DEVICE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Peer-to-peer on a lab machine of two host bridges (see p2p-lab.json). */
class P2pTest {
    private Machine machine;
    private DmaRuntime rt;
    private PhysicalAddressSpace cpu;
    private P2pClassifier p2p;
    private PeerMemoryAllocator mem;

    @BeforeEach
    void setUp() throws IOException {
        try (InputStream in = P2pTest.class.getResourceAsStream("/p2p-lab.json")) {
            machine = Machine.create(MachineDescriptionParser.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "p2p-lab.json"));
        }
        cpu = machine.addressSpace();
        rt = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(Map.of("dma4j.p2p.seed", "7", "dma4j.iommu.mode", "strict"))).build();
        p2p = rt.p2pClassifier();
        mem = rt.peerMemory();
    }

    @AfterEach
    void tearDown() {
        rt.close();
        machine.close();
    }

    private Device dev(String name) {
        return machine.device(name);
    }

    private Bar cmb(String name) {
        return dev(name).bar(2);
    }

    private long copy(String device, long src, long dst, long len) {
        return CopyEngine.copy(cpu, dev(device).bar(0), src, dst, len);
    }

    @Test
    void mapTypesFollowTheFabric() {
        assertThat(p2p.classify(dev("ceA"), cmb("cmbA"))).isEqualTo(P2pMapType.BUS_ADDR);
        assertThat(p2p.explain(dev("ceA"), cmb("cmbA"))).isEqualTo("both below sw0, no ACS redirect");
        assertThat(p2p.classify(dev("ceAcs"), cmb("cmbA"))).isEqualTo(P2pMapType.NOT_SUPPORTED);
        assertThat(p2p.explain(dev("ceAcs"), cmb("cmbA"))).isEqualTo("ACS redirect at sw0.dp2, and hb0 does not forward peer-to-peer traffic");
        assertThat(p2p.classify(dev("ceB"), cmb("cmbA"))).isEqualTo(P2pMapType.NOT_SUPPORTED);
        assertThat(p2p.explain(dev("ceB"), cmb("cmbA"))).isEqualTo("no common switch, and hb0 does not forward peer-to-peer traffic");
        assertThat(p2p.classify(dev("ceC"), cmb("cmbC"))).isEqualTo(P2pMapType.BUS_ADDR);
        assertThat(p2p.classify(dev("ceD"), cmb("cmbC"))).isEqualTo(P2pMapType.THRU_HOST_BRIDGE);
        assertThat(p2p.explain(dev("ceD"), cmb("cmbC"))).isEqualTo("no common switch; through hb1");
        assertThat(p2p.classify(dev("ceE"), cmb("cmbC"))).isEqualTo(P2pMapType.THRU_HOST_BRIDGE);
        assertThat(p2p.classify(dev("ceD"), cmb("cmbA"))).as("hb0 does not forward").isEqualTo(P2pMapType.NOT_SUPPORTED);
        assertThat(mem.distance(dev("cmbA"), List.of(dev("ceA")))).as("device, port, switch, port, device").isEqualTo(4);
        assertThat(mem.distance(dev("cmbA"), List.of(dev("ceA"), dev("ceA")))).isEqualTo(8);
        assertThat(mem.distance(dev("cmbA"), List.of(dev("ceA"), dev("ceB")))).isEqualTo(-1);
        assertThat(mem.distance(dev("cmbA"), List.of())).isEqualTo(-1);
    }

    @Test
    void busAddressSegmentsTurnAroundAtTheSwitch() {
        DmaMapper m = rt.mapper("ceA");
        long src = machine.pageAllocator().allocPages(0);
        Bytes.fill(cpu, src, 4096, 3);
        long s = m.mapPhys(src, 4096, TO_DEVICE, 0);
        ScatterList sg = new ScatterList(1).set(0, cmb("cmbA").cpuAddress() + 0x3000, 4096);
        assertThat(m.mapSg(sg, 1, FROM_DEVICE, 0)).isEqualTo(1);
        assertThat(sg.dmaFlags(0) & ScatterList.FLAG_BUS_ADDRESS).isNotZero();
        assertThat(sg.dmaAddress(0)).isEqualTo(cmb("cmbA").busAddress() + 0x3000);
        assertThat(copy("ceA", s, sg.dmaAddress(0), 4096)).isEqualTo(CopyEngine.STATUS_DONE);
        assertThat(Bytes.mismatch(cpu, cmb("cmbA").cpuAddress() + 0x3000, 4096, 3)).isEqualTo(-1);
        m.unmapSg(sg, 1, FROM_DEVICE, 0);
        m.unmapPhys(s, 4096, TO_DEVICE, 0);
    }

    @Test
    void aBusOffsetIsAppliedBelowTheSecondHostBridge() {
        DmaMapper m = rt.mapper("ceC");
        long cmbCpu = cmb("cmbC").cpuAddress();
        assertThat(cmb("cmbC").busAddress()).isEqualTo(cmbCpu - 0x8_0000_0000L);
        P2pState st = new P2pState();
        assertThat(m.p2pMapType(st, cmbCpu + 0x100)).isEqualTo(P2pMapType.BUS_ADDR);
        long bus = st.busAddress(cmbCpu + 0x100);
        assertThat(bus).isEqualTo(cmb("cmbC").busAddress() + 0x100);
        long src = machine.pageAllocator().allocPages(0);
        Bytes.fill(cpu, src, 256, 8);
        long s = m.mapPhys(src, 256, TO_DEVICE, 0);
        assertThat(copy("ceC", s, bus, 256)).isEqualTo(CopyEngine.STATUS_DONE);
        assertThat(Bytes.mismatch(cpu, cmbCpu + 0x100, 256, 8)).isEqualTo(-1);
        m.unmapPhys(s, 256, TO_DEVICE, 0);
    }

    @Test
    void throughTheHostBridgeMapsLikeMemoryDirectAndThroughTheIommu() {
        long target = cmb("cmbC").cpuAddress() + 0x10000;
        for (String client : List.of("ceD", "ceE")) {
            DmaMapper m = rt.mapper(client);
            long src = machine.pageAllocator().allocPages(0);
            Bytes.fill(cpu, src, 4096, client.hashCode());
            long s = m.mapPhys(src, 4096, TO_DEVICE, 0);
            ScatterList sg = new ScatterList(1).set(0, target, 4096);
            m.mapSg(sg, 1, FROM_DEVICE, 0);
            assertThat(sg.dmaFlags(0) & ScatterList.FLAG_BUS_ADDRESS).isZero();
            if (client.equals("ceE")) {
                assertThat(sg.dmaAddress(0)).as("an IOVA").isNotEqualTo(target);
            }
            assertThat(copy(client, s, sg.dmaAddress(0), 4096)).as(client).isEqualTo(CopyEngine.STATUS_DONE);
            assertThat(Bytes.mismatch(cpu, target, 4096, client.hashCode())).isEqualTo(-1);
            m.unmapSg(sg, 1, FROM_DEVICE, 0);
            m.unmapPhys(s, 4096, TO_DEVICE, 0);
        }
    }

    @Test
    void unsupportedPathsAreRefusedAndTheHardwareBlocksThemToo() {
        DmaMapper m = rt.mapper("ceB");
        long cmbCpu = cmb("cmbA").cpuAddress();
        ScatterList sg = new ScatterList(1).set(0, cmbCpu, 4096);
        assertThatThrownBy(() -> m.mapSg(sg, 1, FROM_DEVICE, 0)).isInstanceOf(DmaMappingException.class)
                .hasMessageContaining("peer memory cmbA.bar2 is not reachable: no common switch, and hb0 does not forward peer-to-peer traffic (-EREMOTEIO)");
        cpu.writeLong(cmbCpu, 42);
        long src = machine.pageAllocator().allocPages(0);
        long s = m.mapPhys(src, 4096, TO_DEVICE, 0);
        assertThat(copy("ceB", s, cmbCpu, 8)).isEqualTo(CopyEngine.STATUS_FAULT);
        assertThat(machine.faultLog().last().reason()).isEqualTo(FaultReason.P2P_BLOCKED);
        assertThat(cpu.readLong(cmbCpu)).isEqualTo(42);
        m.unmapPhys(s, 4096, TO_DEVICE, 0);
    }

    @Test
    void aHotRemovedProviderIsReclassifiedAndUnreachable() {
        assertThat(p2p.classify(dev("ceA"), cmb("cmbA"))).isEqualTo(P2pMapType.BUS_ADDR);
        rt.hotRemove("cmbA");
        assertThat(p2p.classify(dev("ceA"), cmb("cmbA"))).isEqualTo(P2pMapType.NOT_SUPPORTED);
        assertThat(p2p.explain(dev("ceA"), cmb("cmbA"))).isEqualTo("cmbA was hot-removed");
        long src = machine.pageAllocator().allocPages(0);
        DmaMapper m = rt.mapper("ceA");
        long s = m.mapPhys(src, 4096, TO_DEVICE, 0);
        assertThat(copy("ceA", s, cmb("cmbA").busAddress(), 8)).isEqualTo(CopyEngine.STATUS_FAULT);
        assertThat(machine.faultLog().last().reason()).isEqualTo(FaultReason.REMOVED);
        m.unmapPhys(s, 4096, TO_DEVICE, 0);
    }

    @Test
    void peerMemoryIsAllocatedByPagesFirstFit() {
        mem.publish(dev("cmbA"), 2, 0, 0);
        assertThat(mem.available(dev("cmbA"))).isEqualTo(16L << 20);
        long base = cmb("cmbA").cpuAddress();
        long a = mem.alloc(dev("cmbA"), 1 << 20);
        long b = mem.alloc(dev("cmbA"), 1 << 20);
        long c = mem.alloc(dev("cmbA"), 100); // one page
        assertThat(a).isEqualTo(base);
        assertThat(b).isEqualTo(base + (1 << 20));
        assertThat(c).isEqualTo(base + (2 << 20));
        mem.free(dev("cmbA"), a, 1 << 20);
        assertThat(mem.alloc(dev("cmbA"), 2 << 20)).as("does not fit in the 1 MiB hole").isEqualTo(base + (2 << 20) + 4096);
        assertThat(mem.alloc(dev("cmbA"), 512 << 10)).as("fits in the hole").isEqualTo(base);
        assertThatThrownBy(() -> mem.free(dev("cmbA"), base + 12345, 4096)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("is not an allocation");
        assertThatThrownBy(() -> mem.alloc(dev("cmbA"), 16L << 20)).isInstanceOf(DmaMappingException.class)
                .hasMessageContaining("peer memory exhausted");
        assertThatThrownBy(() -> mem.alloc(dev("ceA"), 4096)).isInstanceOf(DmaMappingException.class).hasMessageContaining("no peer memory published");
        long free = mem.available(dev("cmbA"));
        // pci_alloc_p2pmem (drivers/pci/p2pdma.c) gives nothing for 0 bytes; a negative size_t is larger than any pool
        assertThatThrownBy(() -> mem.alloc(dev("cmbA"), 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("cmbA: peer-memory alloc(size 0): size must be > 0");
        assertThatThrownBy(() -> mem.alloc(dev("cmbA"), -4096)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("cmbA: peer-memory alloc(size -4096): size must be > 0");
        assertThatThrownBy(() -> mem.alloc(dev("cmbA"), Long.MAX_VALUE)).isInstanceOf(DmaMappingException.class)
                .hasMessageContaining("peer memory exhausted: 2251799813685248 pages asked, the pool has 4096");
        assertThat(mem.available(dev("cmbA"))).as("nothing lost").isEqualTo(free);
        assertThatThrownBy(() -> mem.publish(dev("ceA"), 0, 0, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("register BAR");
        assertThatThrownBy(() -> mem.publish(dev("cmbC"), 2, 8L << 20, 9L << 20)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("leave the BAR");
    }

    @Test
    void findBestPicksTheClosestPublishedMemory() {
        mem.publish(dev("cmbA"), 2, 0, 0);
        mem.publish(dev("cmbC"), 2, 0, 0);
        assertThat(mem.findBest(List.of(dev("ceA")))).isEqualTo(dev("cmbA"));
        assertThat(mem.findBest(List.of(dev("ceC")))).isEqualTo(dev("cmbC"));
        assertThat(mem.findBest(List.of(dev("ceD")))).isEqualTo(dev("cmbC"));
        assertThat(mem.findBest(List.of(dev("ceA"), dev("ceD")))).as("nothing reaches both").isNull();
        rt.hotRemove("cmbC");
        assertThat(mem.findBest(List.of(dev("ceD")))).isNull();
    }

    @Test
    void tiesAreBrokenAtRandom() throws IOException {
        // two providers below one switch, at equal distance from the client
        String json = """
                {"memory": [{"base": "1MiB", "size": "255MiB"}],
                 "fabric": [{"name": "hb", "type": "host-bridge"}, {"name": "rp", "type": "root-port", "parent": "hb"},
                            {"name": "sw", "type": "switch-upstream", "parent": "rp"},
                            {"name": "d0", "type": "switch-downstream", "parent": "sw"},
                            {"name": "d1", "type": "switch-downstream", "parent": "sw"},
                            {"name": "d2", "type": "switch-downstream", "parent": "sw"}],
                 "devices": [{"name": "p0", "port": "d0", "bars": [{"index": 2, "kind": "memory", "address": "0x4000000000", "size": "1MiB"}]},
                             {"name": "p1", "port": "d1", "bars": [{"index": 2, "kind": "memory", "address": "0x4000100000", "size": "1MiB"}]},
                             {"name": "c", "port": "d2"}]}""";
        try (Machine m = Machine.create(MachineDescriptionParser.parse(json, "tie.json"));
             DmaRuntime r = DmaRuntime.builder().machine(m).config(RuntimeConfig.of(Map.of("dma4j.p2p.seed", "1"))).build()) {
            PeerMemoryAllocator pm = r.peerMemory();
            pm.publish(m.device("p0"), 2, 0, 0);
            pm.publish(m.device("p1"), 2, 0, 0);
            Set<String> chosen = new HashSet<>();
            for (int i = 0; i < 64; i++) {
                chosen.add(pm.findBest(List.of(m.device("c"))).name());
            }
            assertThat(chosen).containsExactlyInAnyOrder("p0", "p1");
        }
    }
}
