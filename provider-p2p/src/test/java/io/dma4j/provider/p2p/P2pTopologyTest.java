package io.dma4j.provider.p2p;

import io.dma4j.api.DmaMapper;
import io.dma4j.api.P2pMapType;
import io.dma4j.api.PeerMemoryAllocator;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.Machine;
import io.dma4j.platform.description.MachineDescriptionParser;
import io.dma4j.platform.device.CopyEngine;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;
import io.dma4j.runtime.testing.Bytes;
import io.dma4j.spi.P2pClassifier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.dma4j.api.DmaDirection.FROM_DEVICE;
import static io.dma4j.api.DmaDirection.TO_DEVICE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Peer-to-peer over the topologies drivers/pci/p2pdma.c (v6.16) tells apart, each expectation
 * derived from {@code calc_map_type_and_dist}, {@code host_bridge_whitelist} and
 * {@code cpu_supports_p2pdma}: functions of one device, function ACS, SR-IOV virtual
 * functions, a root-complex integrated endpoint, whitelisted host bridges (one only within
 * itself) and an AMD Zen CPU; and {@code pci_p2pmem_find_many} for clients sharing a port.
 */
class P2pTopologyTest {
    private static final String LAB = """
            {"name": "p2p-topo", "memory": [{"base": "1MiB", "size": "1023MiB"}], "cpu": {"vendor": "intel", "family": 6},
             "fabric": [{"name": "hb0", "type": "host-bridge", "vendorId": "0x8086", "deviceId": "0x3c00"},
                        {"name": "rp1", "type": "root-port", "parent": "hb0"},
                        {"name": "rp2", "type": "root-port", "parent": "hb0"},
                        {"name": "rp4", "type": "root-port", "parent": "hb0"},
                        {"name": "hb1", "type": "host-bridge", "vendorId": "0x8086", "deviceId": "0x2030"},
                        {"name": "rp3", "type": "root-port", "parent": "hb1"}],
             "devices": [
               {"name": "mem0", "port": "rp1", "function": 0, "bars": [{"index": 2, "kind": "memory", "address": "0x4000000000", "size": "16MiB"}]},
               {"name": "ce1", "model": "copy-engine", "port": "rp1", "function": 1, "bars": [{"index": 0, "kind": "registers", "address": "0xc0000000", "size": "4KiB"}]},
               {"name": "ce2", "model": "copy-engine", "port": "rp1", "function": 2, "acs": {"requestRedirect": true},
                "bars": [{"index": 0, "kind": "registers", "address": "0xc0001000", "size": "4KiB"}]},
               {"name": "mem1", "port": "rp1", "function": 3, "bars": [{"index": 2, "kind": "memory", "address": "0x4001000000", "size": "16MiB"}]},
               {"name": "ce3", "model": "copy-engine", "port": "rp2", "bars": [{"index": 0, "kind": "registers", "address": "0xc0002000", "size": "4KiB"}]},
               {"name": "pfm", "port": "rp4", "bars": [{"index": 2, "kind": "memory", "address": "0x4002000000", "size": "16MiB"}]},
               {"name": "vfce", "model": "copy-engine", "physfn": "pfm", "bars": [{"index": 0, "kind": "registers", "address": "0xc0003000", "size": "4KiB"}]},
               {"name": "rc0", "model": "copy-engine", "port": "hb0", "bars": [{"index": 0, "kind": "registers", "address": "0xc0004000", "size": "4KiB"}]},
               {"name": "ce4", "model": "copy-engine", "port": "rp3", "bars": [{"index": 0, "kind": "registers", "address": "0xd0000000", "size": "4KiB"}]} ] }""";

    private Machine machine;
    private DmaRuntime rt;
    private PhysicalAddressSpace cpu;
    private P2pClassifier p2p;
    private PeerMemoryAllocator mem;

    private void setUp(String text) {
        machine = Machine.create(MachineDescriptionParser.parse(text, "p2p-topo.json"));
        cpu = machine.addressSpace();
        rt = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(Map.of("dma4j.p2p.seed", "11"))).build();
        p2p = rt.p2pClassifier();
        mem = rt.peerMemory();
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

    private Device dev(String name) {
        return machine.device(name);
    }

    /** The client's copy engine writes a page into the provider's BAR through a one-entry scatter list; the bytes must arrive. */
    private void bytesArrive(String client, String provider, int seed) {
        DmaMapper m = rt.mapper(client);
        long src = machine.pageAllocator().allocPages(0);
        Bytes.fill(cpu, src, 4096, seed);
        long s = m.mapPhys(src, 4096, TO_DEVICE, 0);
        long target = dev(provider).bar(2).cpuAddress() + 0x1000L * seed;
        ScatterList sg = new ScatterList(1).set(0, target, 4096);
        assertThat(m.mapSg(sg, 1, FROM_DEVICE, 0)).isEqualTo(1);
        assertThat(CopyEngine.copy(cpu, dev(client).bar(0), s, sg.dmaAddress(0), 4096)).as("%s writes into %s", client, provider).isEqualTo(CopyEngine.STATUS_DONE);
        assertThat(Bytes.mismatch(cpu, target, 4096, seed)).isEqualTo(-1);
        m.unmapSg(sg, 1, FROM_DEVICE, 0);
        m.unmapPhys(s, 4096, TO_DEVICE, 0);
    }

    @Test
    void functionsOfOneDeviceTalkAtTheirPortUnlessAFunctionRedirects() {
        setUp(LAB);
        assertThat(p2p.classify(dev("ce1"), dev("mem0").bar(2))).isEqualTo(P2pMapType.BUS_ADDR);
        assertThat(p2p.explain(dev("ce1"), dev("mem0").bar(2))).isEqualTo("both below rp1, no ACS redirect");
        assertThat(mem.distance(dev("mem0"), List.of(dev("ce1")))).as("function, port, function").isEqualTo(2);
        bytesArrive("ce1", "mem0", 1);
        // ce2's own ACS request redirect sends its traffic up; hb0 (8086:3c00) forwards within itself
        assertThat(p2p.classify(dev("ce2"), dev("mem0").bar(2))).isEqualTo(P2pMapType.THRU_HOST_BRIDGE);
        assertThat(p2p.explain(dev("ce2"), dev("mem0").bar(2))).isEqualTo("ACS redirect at ce2; through hb0");
        assertThat(mem.distance(dev("mem0"), List.of(dev("ce2")))).as("the hop count still counts").isEqualTo(2);
        bytesArrive("ce2", "mem0", 2);
    }

    @Test
    void aVirtualFunctionReachesItsPhysicalFunctionsMemoryAtTheirPort() {
        setUp(LAB);
        assertThat(p2p.classify(dev("vfce"), dev("pfm").bar(2))).isEqualTo(P2pMapType.BUS_ADDR);
        assertThat(p2p.explain(dev("vfce"), dev("pfm").bar(2))).isEqualTo("both below rp4, no ACS redirect");
        assertThat(mem.distance(dev("pfm"), List.of(dev("vfce")))).isEqualTo(2);
        bytesArrive("vfce", "pfm", 3);
    }

    @Test
    void hostBridgeWhitelistAndCpuDecideTheRoutesThroughTheRootComplex() {
        setUp(LAB);
        // two root ports of hb0: through the host bridge, 2 + 2 hops
        assertThat(p2p.classify(dev("ce3"), dev("mem0").bar(2))).isEqualTo(P2pMapType.THRU_HOST_BRIDGE);
        assertThat(mem.distance(dev("mem0"), List.of(dev("ce3")))).isEqualTo(4);
        bytesArrive("ce3", "mem0", 4);
        // an integrated endpoint has no upstream bridge: 1 + 2 hops, through hb0
        assertThat(p2p.classify(dev("rc0"), dev("mem0").bar(2))).isEqualTo(P2pMapType.THRU_HOST_BRIDGE);
        assertThat(mem.distance(dev("mem0"), List.of(dev("rc0")))).isEqualTo(3);
        bytesArrive("rc0", "mem0", 5);
        // hb1 (8086:2030) is listed for any host bridge, but hb0 (8086:3c00) only within itself
        assertThat(p2p.classify(dev("ce4"), dev("mem0").bar(2))).isEqualTo(P2pMapType.NOT_SUPPORTED);
        assertThat(p2p.explain(dev("ce4"), dev("mem0").bar(2))).isEqualTo("no common switch, and hb0 (8086:3c00) forwards peer-to-peer traffic within itself only");
        tearDown();
        setUp(LAB.replace("\"0x3c00\"", "\"0x2031\""));
        assertThat(p2p.classify(dev("ce4"), dev("mem0").bar(2))).as("both Skylake-E: across host bridges").isEqualTo(P2pMapType.THRU_HOST_BRIDGE);
        assertThat(p2p.explain(dev("ce4"), dev("mem0").bar(2))).isEqualTo("no common switch; through hb0 and hb1");
        bytesArrive("ce4", "mem0", 6);
        tearDown();
        setUp(LAB.replace("\"0x3c00\"", "\"0x1234\"").replace("\"0x2030\"", "\"0x1234\"").replace("\"vendor\": \"intel\", \"family\": 6", "\"vendor\": \"amd\", \"family\": \"0x19\""));
        assertThat(p2p.classify(dev("ce4"), dev("mem0").bar(2))).as("an AMD Zen CPU: any host bridge").isEqualTo(P2pMapType.THRU_HOST_BRIDGE);
        assertThat(p2p.explain(dev("ce4"), dev("mem0").bar(2))).isEqualTo("no common switch; an amd family 0x19 CPU supports peer-to-peer through its host bridges");
        bytesArrive("ce4", "mem0", 7);
        tearDown();
        setUp(LAB.replace("\"0x3c00\"", "\"0x1234\"").replace("\"vendor\": \"intel\", \"family\": 6", "\"vendor\": \"amd\", \"family\": \"0x16\""));
        assertThat(p2p.classify(dev("ce3"), dev("mem0").bar(2))).as("family 0x16 is older than Zen, and 8086:1234 is not listed").isEqualTo(P2pMapType.NOT_SUPPORTED);
        assertThat(p2p.explain(dev("ce3"), dev("mem0").bar(2))).isEqualTo("no common switch, and hb0 does not forward peer-to-peer traffic");
    }

    @Test
    void findManyOverClientsSharingAPortPicksAmongTheClosestAtRandom() {
        setUp(LAB);
        for (String provider : new String[] {"mem0", "mem1", "pfm"}) {
            mem.publish(dev(provider), 2, 0, 0);
        }
        List<Device> clients = List.of(dev("ce1"), dev("ce2")); // two functions of one device
        assertThat(mem.distance(dev("mem0"), clients)).as("2 + 2: the sum over the clients").isEqualTo(4);
        assertThat(mem.distance(dev("mem1"), clients)).isEqualTo(4);
        assertThat(mem.distance(dev("pfm"), clients)).isEqualTo(8);
        Set<String> chosen = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            chosen.add(mem.findBest(clients).name());
        }
        assertThat(chosen).as("uniformly among the closest, never a farther one").containsExactlyInAnyOrder("mem0", "mem1");
        assertThat(mem.findBest(List.of(dev("ce4")))).as("no provider reachable from hb1").isNull();
    }
}
