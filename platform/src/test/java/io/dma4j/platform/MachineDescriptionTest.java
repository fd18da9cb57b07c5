package io.dma4j.platform;

import io.dma4j.platform.description.MachineDescription;
import io.dma4j.platform.description.MachineDescriptionException;
import io.dma4j.platform.description.MachineDescriptionParser;
import io.dma4j.platform.pci.Bar;
import io.dma4j.platform.pci.PciNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MachineDescriptionTest {
    private static final String BASE = """
            {"name": "t", "memory": [{"base": "1MiB", "size": "1GiB"}],
             "iommus": [{"name": "u0"}],
             "fabric": [{"name": "hb0", "type": "host-bridge", "busOffset": "0x1000000"},
                        {"name": "rp0", "type": "root-port", "parent": "hb0"}],
             "devices": [ DEVICE ] }""";

    private static MachineDescription parse(String device) {
        return MachineDescriptionParser.parse(BASE.replace("DEVICE", device), "t.json");
    }

    @Test
    void defaultMachineHasWhatTheIssueAsksFor() {
        try (Machine m = Machine.createDefault()) {
            assertThat(m.addressSpace().dram()).hasSize(2);
            assertThat(m.addressSpace().dram().get(1).base()).isEqualTo(4L << 30);
            assertThat(m.iommus()).hasSize(1);
            assertThat(m.device("nvme0").slot().parent().kind()).isEqualTo(PciNode.Kind.SWITCH_DOWNSTREAM);
            assertThat(m.device("rnic0").slot().parent().parent()).isSameAs(m.device("nvme0").slot().parent().parent());
            assertThat(m.device("nvme0").bar(2).kind()).isEqualTo(Bar.Kind.MEMORY);
            assertThat(m.device("legacy32").dmaMask()).isEqualTo(0xFFFF_FFFFL);
            assertThat(m.device("tbt0").attributes().untrusted()).isTrue();
            assertThat(m.device("mlx5vf0").model()).isEqualTo("mlx5-vf");
            assertThat(m.device("dmatest0").behaviour()).isNotNull();
            assertThat(m.device("dmatest0").iommu()).isNull();
            assertThat(m.device("dmatest1").iommuGroup()).isNotEqualTo(m.device("nvme0").iommuGroup());
            assertThat(m.addressSpace().touchedChunks()).isZero();
        }
    }

    @Test
    void barsGetBusAddressesFromTheHostBridgeOffset() {
        MachineDescription d = parse("""
                {"name": "d", "port": "rp0", "bars": [{"index": 2, "kind": "memory", "address": "0x80000000", "size": "1MiB"}]}""");
        try (Machine m = Machine.create(d)) {
            Bar b = m.device("d").bar(2);
            assertThat(b.cpuAddress()).isEqualTo(0x8000_0000L);
            assertThat(b.busAddress()).isEqualTo(0x8000_0000L - 0x100_0000L);
            assertThat(m.barAt(0x8000_0010L)).isEqualTo(b);
        }
    }

    @Test
    void aTerabyteMachineTouchesOnlyWhatIsWritten() {
        String json = """
                {"memory": [{"base": "4GiB", "size": "1TiB"}], "devices": [{"name": "d", "model": "copy-engine",
                  "bars": [{"index": 0, "kind": "registers", "address": "0xc0000000", "size": "4KiB"}]}]}""";
        try (Machine m = Machine.create(MachineDescriptionParser.parse(json, "tib.json"))) {
            assertThat(m.addressSpace().dramSize()).isEqualTo(1L << 40);
            assertThat(m.addressSpace().touchedChunks()).as("a new machine allocates no DRAM chunk").isZero();
            m.addressSpace().writeLong(4L << 30, 1);
            m.addressSpace().writeLong((4L << 30) + (1L << 40) - 8, 2);
            m.addressSpace().writeLong((4L << 30) + (1L << 40) - 16, 3); // same chunk as the previous write
            assertThat(m.addressSpace().touchedChunks()).isEqualTo(2);
            long page = m.pageAllocator().allocPages(10);
            assertThat(page).isEqualTo(4L << 30);
            assertThat(m.addressSpace().touchedChunks()).isEqualTo(2); // zeroing an untouched block allocates nothing
            assertThat(m.addressSpace().readLong((4L << 30) + (1L << 40) - 8)).isEqualTo(2);
        }
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', value = {
            "{\"name\": \"d\", \"dmaBits\": 65}|$.devices[0].dmaBits|expected an integer 1..64, got 65",
            "{\"name\": \"d\", \"dmaBits\": \"x\"}|$.devices[0].dmaBits|expected an integer 1..64, got \"x\"",
            "{\"name\": \"d\", \"colour\": 1}|$.devices[0].colour|unknown field",
            "{\"name\": \"d\", \"port\": \"rp9\"}|$.devices[0].port|unknown fabric node 'rp9'",
            "{\"name\": \"d\", \"port\": \"rp0\", \"function\": 8}|$.devices[0].function|expected an integer 0..7",
            "{\"name\": \"d\", \"iommu\": \"u9\"}|$.devices[0].iommu|unknown IOMMU unit 'u9'",
            "{\"name\": \"d\", \"minAlignMask\": \"0x1000\"}|$.devices[0].minAlignMask|expected a mask of the form 2^n-1",
            "{\"name\": \"d\", \"bars\": [{\"index\": 0, \"kind\": \"memory\", \"address\": \"0x1000000\", \"size\": \"1MiB\"}]}|$.devices[0].bars[0]|overlaps $.memory[0]",
            "{\"name\": \"d\", \"bars\": [{\"index\": 0, \"kind\": \"memory\", \"address\": \"0x80001000\", \"size\": \"1MiB\"}]}|$.devices[0].bars[0].address|aligned to the BAR size",
            "{\"name\": \"d\", \"bars\": [{\"index\": 0, \"kind\": \"memory\", \"address\": \"0x80000000\", \"size\": \"3000\"}]}|$.devices[0].bars[0].size|power of two of at least 4 KiB",
            "{\"name\": \"d\", \"bars\": [{\"index\": 0, \"kind\": \"ram\", \"address\": \"0x80000000\", \"size\": \"4KiB\"}]}|$.devices[0].bars[0].kind|expected \"memory\" or \"registers\"",
            "{\"model\": \"x\"}|$.devices[0].name|missing (required)",
    })
    void badDescriptionsNameFilePathAndProblem(String device, String path, String problem) {
        assertThatThrownBy(() -> parse(device))
                .isInstanceOfSatisfying(MachineDescriptionException.class, e -> {
                    assertThat(e.source()).isEqualTo("t.json");
                    assertThat(e.path()).isEqualTo(path);
                    assertThat(e.problem()).contains(problem);
                    assertThat(e.getMessage()).startsWith("t.json: " + path + ": ");
                });
    }

    @Test
    void structuralErrorsNameTheirPath() {
        assertThatThrownBy(() -> MachineDescriptionParser.parse("{\"memory\": []}", "m.json"))
                .hasMessage("m.json: $.memory: expected at least one DRAM range");
        assertThatThrownBy(() -> MachineDescriptionParser.parse("{\"memory\": [{\"base\": 0, \"size\": \"4KiB\"}], \"fabric\": [{\"name\": \"rp\", \"type\": \"root-port\", \"parent\": \"hb\"}]}", "m.json"))
                .hasMessageStartingWith("m.json: $.fabric[0].parent: unknown fabric node 'hb'");
        assertThatThrownBy(() -> MachineDescriptionParser.parse("{\"memory\": [{\"base\": 0, \"size\": \"4KiB\"}, {\"base\": \"2KiB\", \"size\": \"4KiB\"}]}", "m.json"))
                .hasMessageStartingWith("m.json: $.memory[1].base: expected a 4 KiB-aligned address");
        assertThatThrownBy(() -> MachineDescriptionParser.parse("{\"memory\": [{\"base\": 0, \"size\": \"8KiB\"}, {\"base\": \"4KiB\", \"size\": \"4KiB\"}]}", "m.json"))
                .hasMessageStartingWith("m.json: $.memory[1]: range [0x1000-0x2000) overlaps $.memory[0] [0x0-0x2000)");
        assertThatThrownBy(() -> MachineDescriptionParser.parse("{\"memory\": [", "m.json"))
                .hasMessageStartingWith("m.json: $.memory: not valid JSON at line 1"); // the array the text broke off in
        assertThatThrownBy(() -> MachineDescriptionParser.parse("{\"memory\": [{\"base\": 0, \"size\": \"12 furlongs\"}]}", "m.json"))
                .hasMessageStartingWith("m.json: $.memory[0].size: expected a size or address like 4096");
        String unit = "{\"memory\": [{\"base\": 0, \"size\": \"4KiB\"}], \"iommus\": [{\"name\": \"smmu0\", \"reservedRegions\": [%s]}]}";
        assertThatThrownBy(() -> MachineDescriptionParser.parse(unit.formatted("{\"base\": \"0x8000000\", \"size\": \"1MiB\", \"type\": \"doorbell\"}"), "m.json"))
                .hasMessage("m.json: $.iommus[0].reservedRegions[0].type: unknown reserved region type \"doorbell\" (expected: msi, sw-msi, reserved)");
        assertThatThrownBy(() -> MachineDescriptionParser.parse(unit.formatted("{\"base\": \"0x8000000\", \"size\": 0, \"type\": \"msi\"}"), "m.json"))
                .hasMessageStartingWith("m.json: $.iommus[0].reservedRegions[0].size: expected a positive size");
        assertThat(MachineDescriptionParser.parse(unit.formatted("{\"base\": \"0x8000000\", \"size\": \"1MiB\", \"type\": \"sw-msi\"}"), "m.json").iommus().getFirst().reservedRegions())
                .containsExactly(new io.dma4j.platform.ReservedRegion(0x800_0000L, 0x80f_ffffL, io.dma4j.platform.ReservedRegion.Type.SW_MSI));
    }

    @Test
    void aSecondLinkBelowOnePortIsRefusedWithItsPath() {
        // found by MachineDescriptionFuzzTest: the fabric builder's refusal escaped as an
        // IllegalArgumentException with no file and no path
        MachineDescription twoBelowOnePort = MachineDescriptionParser.parse("""
                {"memory": [{"base": 0, "size": "1MiB"}],
                 "fabric": [{"name": "hb", "type": "host-bridge"}, {"name": "rp", "type": "root-port", "parent": "hb"},
                            {"name": "swA", "type": "switch-upstream", "parent": "rp"}, {"name": "swB", "type": "switch-upstream", "parent": "rp"}]}""", "m.json");
        assertThatThrownBy(() -> Machine.create(twoBelowOnePort)).isInstanceOf(MachineDescriptionException.class)
                .hasMessage("m.json: $.fabric[3]: port 'rp' already has 'swA' below it (a port links to one device or switch)");
    }

    @Test
    void aFileThatCannotBeReadIsNamed(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("nope.json");
        assertThatThrownBy(() -> Machine.load(missing)).isInstanceOf(MachineDescriptionException.class)
                .hasMessageStartingWith(missing + ": $: cannot read the file");
        Path ok = dir.resolve("ok.json");
        Files.writeString(ok, "{\"name\": \"ok\", \"memory\": [{\"base\": \"0x100000\", \"size\": \"16MiB\"}]}");
        try (Machine m = Machine.load(ok)) {
            assertThat(m.name()).isEqualTo("ok");
            assertThat(m.description().source()).isEqualTo(ok.toString());
        }
    }

    @Test
    void aRepeatedKeyIsRefusedWithItsPathNotSilentlyOverwritten() {
        String json = """
                {"memory": [{"base": "1MiB", "size": "1GiB"}],
                 "devices": [{"name": "a", "model": "copy-engine", "bars": []}, {"name": "b", "name": "c", "model": "copy-engine", "bars": []}]}""";
        assertThatThrownBy(() -> MachineDescriptionParser.parse(json, "dup.json")).isInstanceOf(MachineDescriptionException.class)
                .hasMessageStartingWith("dup.json: $.devices[1]: not valid JSON at line 2, column ")
                .hasMessageEndingWith(": Duplicate field 'name'");
    }

    @Test
    void controlAndBidiCharactersInNamesAreEscapedSoAnErrorIsOneLine() {
        String json = """
                {"memory": [{"base": "1MiB", "size": "1GiB"}],
                 "fabric": [{"name": "x", "type": "root-port", "parent": "hb\\ndmactl: all good\\u202e"}]}""";
        assertThatThrownBy(() -> MachineDescriptionParser.parse(json, "evil.json")).isInstanceOf(MachineDescriptionException.class)
                .hasMessage("evil.json: $.fabric[0].parent: expected a name of letters, digits, '.', '_' or '-', got \"hb\\u000admactl: all good\\u202e\"")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n").doesNotContain("\u202e"));
        assertThat(PrintableText.escape("plain name")).isEqualTo("plain name");
        assertThat(PrintableText.escape("tab\tbell\u0007")).isEqualTo("tab\\u0009bell\\u0007");
    }
}
