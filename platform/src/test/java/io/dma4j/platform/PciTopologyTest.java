package io.dma4j.platform;

import io.dma4j.platform.description.MachineDescriptionException;
import io.dma4j.platform.description.MachineDescriptionParser;
import io.dma4j.platform.pci.Acs;
import io.dma4j.platform.pci.HostBridges;
import io.dma4j.platform.pci.PciNode;
import io.dma4j.platform.pci.PciPath;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The PCI topologies the kernel's P2PDMA code tells apart, as descriptions and as fabric:
 * multi-function devices, SR-IOV virtual functions, root-complex integrated endpoints,
 * function ACS with every control bit, host-bridge ids and the CPU, and bus/device/function
 * numbers from enumeration. Paths are measured as {@code calc_map_type_and_dist}
 * (drivers/pci/p2pdma.c, v6.16) measures them.
 */
class PciTopologyTest {
    private static final String LAB = """
            {"name": "topo", "memory": [{"base": "1MiB", "size": "1GiB"}], "cpu": {"vendor": "Intel", "family": 6},
             "fabric": [{"name": "hb0", "type": "host-bridge", "vendorId": "0x8086", "deviceId": "0x2030"},
                        {"name": "rp1", "type": "root-port", "parent": "hb0"},
                        {"name": "rp2", "type": "root-port", "parent": "hb0"},
                        {"name": "hb1", "type": "host-bridge"},
                        {"name": "rp3", "type": "root-port", "parent": "hb1"}],
             "devices": [
               {"name": "f0", "port": "rp1", "function": 0, "acs": {"sourceValidation": true, "translationBlocking": true, "directTranslated": true, "upstreamForwarding": true}},
               {"name": "f1", "port": "rp1", "function": 1},
               {"name": "f2", "port": "rp1", "function": 2, "acs": {"egressControl": true}},
               {"name": "vf1", "physfn": "pf"},
               {"name": "pf", "port": "rp2"},
               {"name": "vf2", "physfn": "pf"},
               {"name": "rc0", "port": "hb0"},
               {"name": "far", "port": "rp3"} ] }""";

    private static Machine lab(String text) {
        return Machine.create(MachineDescriptionParser.parse(text, "topo.json"));
    }

    private static PciNode slot(Machine m, String device) {
        return m.device(device).slot();
    }

    @Test
    void enumerationNumbersBusesDepthFirstAndVirtualFunctionsAfterTheirPhysicalFunction() {
        try (Machine m = lab(LAB)) {
            assertThat(m.fabric().node("hb0").bdf()).isEqualTo("0000:00:00.0");
            assertThat(m.fabric().node("rp1").bdf()).isEqualTo("0000:00:01.0");
            assertThat(slot(m, "f0").bdf()).isEqualTo("0000:01:00.0");
            assertThat(slot(m, "f2").shortBdf()).isEqualTo("01:00.2");
            assertThat(m.fabric().node("rp2").bdf()).isEqualTo("0000:00:02.0");
            assertThat(slot(m, "pf").bdf()).isEqualTo("0000:02:00.0");
            assertThat(slot(m, "vf1").bdf()).as("First VF Offset 1, VF Stride 1").isEqualTo("0000:02:00.1");
            assertThat(slot(m, "vf2").bdf()).isEqualTo("0000:02:00.2");
            assertThat(slot(m, "vf2").physfn()).isSameAs(slot(m, "pf"));
            assertThat(slot(m, "vf2").vfIndex()).isEqualTo(2);
            assertThat(slot(m, "rc0").bdf()).as("an integrated endpoint on the root bus").isEqualTo("0000:00:03.0");
            assertThat(slot(m, "far").bdf()).as("a second host bridge is a second PCI domain").isEqualTo("0001:01:00.0");
            assertThat(m.cpu()).isEqualTo(new Cpu("intel", 6));
        }
    }

    @Test
    void pathsAreMeasuredAsCalcMapTypeAndDist() {
        try (Machine m = lab(LAB)) {
            // two functions of one device meet at their port: provider, port; client, port -> 2
            PciPath fn = PciPath.between(slot(m, "f1"), slot(m, "f0"));
            assertThat(fn.common().name()).isEqualTo("rp1");
            assertThat(fn.distance()).isEqualTo(2);
            assertThat(fn.acsRedirect()).as("SV, UF, TB and DT do not redirect").isEmpty();
            assertThat(fn.staysBelowSwitch()).isTrue();
            // EC on a function counts as a redirect (pci_bridge_has_acs_redir reads RR, CR and EC)
            assertThat(PciPath.between(slot(m, "f2"), slot(m, "f1")).acsRedirect()).containsExactly("f2");
            // a VF's upstream bridge is its PF's port: two VFs meet there, and the PF is not on their path
            PciPath vfs = PciPath.between(slot(m, "vf1"), slot(m, "vf2"));
            assertThat(vfs.common().name()).isEqualTo("rp2");
            assertThat(vfs.distance()).isEqualTo(2);
            assertThat(PciPath.between(slot(m, "pf"), slot(m, "vf1")).distance()).isEqualTo(2);
            // the same function: distance 0
            assertThat(PciPath.between(slot(m, "f1"), slot(m, "f1")).distance()).isZero();
            // an integrated endpoint has no upstream bridge: no common one, 1 hop on its side, 2 on the client's
            PciPath rc = PciPath.between(slot(m, "rc0"), slot(m, "f1"));
            assertThat(rc.common()).isNull();
            assertThat(rc.distance()).isEqualTo(3);
        }
    }

    @Test
    void theMachinesFabricRoutesPeerTrafficAsTheHostBridgeIdsAndTheCpuSay() {
        try (Machine m = lab(LAB)) {
            PciNode hb0 = m.fabric().node("hb0");
            PciNode hb1 = m.fabric().node("hb1");
            assertThat(HostBridges.routes(m.cpu(), hb0, hb0)).as("8086:2030 (Skylake-E) routes between its root ports").isTrue();
            assertThat(HostBridges.routes(m.cpu(), hb0, hb1)).as("hb1 has no known ids").isFalse();
            assertThat(HostBridges.routes(new Cpu("amd", 0x19), hb0, hb1)).as("AMD Zen: every host bridge").isTrue();
            assertThat(HostBridges.routes(new Cpu("amd", 0x16), hb0, hb1)).isFalse();
        }
        try (Machine m = lab(LAB.replace("\"0x2030\"", "\"0x3c00\""))) {
            PciNode hb0 = m.fabric().node("hb0");
            assertThat(HostBridges.routes(m.cpu(), hb0, hb0)).as("8086:3c00: within itself").isTrue();
            assertThat(HostBridges.routes(m.cpu(), hb0, true)).isTrue();
            assertThat(HostBridges.routes(m.cpu(), hb0, false)).as("but not towards another host bridge").isFalse();
        }
    }

    @Test
    void topologyMistakesAreRefusedWithTheirPath() {
        assertThatThrownBy(() -> lab(LAB.replace("\"name\": \"f1\", \"port\": \"rp1\", \"function\": 1", "\"name\": \"f1\", \"port\": \"rp1\"")))
                .isInstanceOf(MachineDescriptionException.class)
                .hasMessage("topo.json: $.devices[1].port: port 'rp1' already has function 0 ('f0'): the functions of a multi-function device need distinct \"function\" numbers (0..7)");
        assertThatThrownBy(() -> lab(LAB.replace("{\"name\": \"vf1\", \"physfn\": \"pf\"}", "{\"name\": \"vf1\", \"physfn\": \"pf\", \"port\": \"rp2\"}")))
                .hasMessage("topo.json: $.devices[3].port: a virtual function takes its port from its physical function (\"physfn\")");
        assertThatThrownBy(() -> lab(LAB.replace("{\"name\": \"vf1\", \"physfn\": \"pf\"}", "{\"name\": \"vf1\", \"physfn\": \"nope\"}")))
                .hasMessage("topo.json: $.devices[3].physfn: unknown device 'nope'");
        assertThatThrownBy(() -> lab(LAB.replace("{\"name\": \"vf2\", \"physfn\": \"pf\"}", "{\"name\": \"vf2\", \"physfn\": \"vf1\"}")))
                .hasMessage("topo.json: $.devices[5].physfn: 'vf1' is a virtual function itself");
        // pf's two VFs take 02:00.1 and 02:00.2; a second function of pf's device at 02:00.1 collides
        assertThatThrownBy(() -> lab(LAB.replace("{\"name\": \"rc0\", \"port\": \"hb0\"}", "{\"name\": \"rc0\", \"port\": \"rp2\", \"function\": 1}")))
                .hasMessage("topo.json: $.devices: VF 'vf1' would take routing ID 0000:02:00.1, which 'rc0' has");
        assertThatThrownBy(() -> lab(LAB.replace("\"deviceId\": \"0x2030\"", "\"deviceId\": \"0x12030\"")))
                .hasMessage("topo.json: $.fabric[0].deviceId: expected a 16-bit PCI id such as \"0x8086\", got 0x12030");
        assertThatThrownBy(() -> lab(LAB.replace(", \"deviceId\": \"0x2030\"", "")))
                .hasMessageContaining("$.fabric[0]: a host bridge's \"vendorId\" and \"deviceId\" go together");
        assertThatThrownBy(() -> lab(LAB.replace("{\"name\": \"rp3\", \"type\": \"root-port\", \"parent\": \"hb1\"}",
                "{\"name\": \"rp3\", \"type\": \"root-port\", \"parent\": \"hb1\", \"vendorId\": 1, \"deviceId\": 2}")))
                .hasMessage("topo.json: $.fabric[4].vendorId: applies to host bridges only");
    }

    @Test
    void acsReadsEveryControlBitAndRedirectsOnRequestCompletionOrEgress() {
        assertThat(new Acs(true, false, false, true, false, true, true).redirects()).isFalse();
        assertThat(new Acs(false, true, false, false, false, false, false).redirects()).isTrue();
        assertThat(new Acs(false, false, true, false, false, false, false).redirects()).isTrue();
        assertThat(new Acs(false, false, false, false, true, false, false).redirects()).isTrue();
        assertThat(new Acs(true, true, true, true, true, true, true).bits()).isEqualTo("SV RR CR UF EC TB DT");
        try (Machine m = lab(LAB)) {
            assertThat(slot(m, "f0").acs().bits()).isEqualTo("SV UF TB DT");
        }
    }
}
