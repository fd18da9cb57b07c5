package io.dma4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class DmactlTest {
    record Run(int code, String out, String err) {
    }

    static Run dmactl(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Dmactl.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(code, out.toString(), err.toString());
    }

    private static String versionOf(String providerClass) {
        try {
            return ((io.dma4j.spi.DmaProvider) Class.forName(providerClass).getConstructor().newInstance()).version();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void providersListsTheDirectBackend() {
        Run r = dmactl("providers");
        assertThat(r.code()).isZero();
        // the version the build wrote into the provider's jar ("dev" only for classes outside a jar)
        String v = java.util.regex.Pattern.quote(versionOf("io.dma4j.provider.direct.DirectProvider"));
        assertThat(r.out()).startsWith("NAME").containsPattern("direct\\s+mapping-backend\\s+" + v + "\\s+0\\s+class path")
                .containsPattern("swiotlb\\s+bounce-service\\s+" + java.util.regex.Pattern.quote(versionOf("io.dma4j.provider.swiotlb.SwiotlbProvider")) + "\\s+0\\s+class path");
    }

    @Test
    void machinePrintsTheFabricTreeAndTheDeviceTable() {
        Run r = dmactl("machine");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("machine default (built-in default)")
                .contains("  IOMMUs     dmar0 (translating)")
                .contains("      sw0 (switch-upstream, 01:00.0)\n        sw0.dp0 (switch-downstream, 02:00.0)\n          nvme0 (endpoint, 03:00.0)")
                .contains("    rp1 (root-port, 00:02.0)\n      mlx5pf0 (endpoint, 06:00.0)\n      mlx5vf0 (endpoint, 06:00.1, VF 1 of mlx5pf0)")
                .containsPattern("legacy32\\s+09:00.0\\s+copy-engine\\s+rp4\\s+32-bit\\s+yes\\s+no\\s+-\\s+-\\s+direct\\s+0:regs@0xc0302000/4KiB")
                .containsPattern("mlx5vf0\\s+06:00.1\\s+mlx5-vf\\s+rp1\\s")
                .doesNotContain("* no device model loaded")
                .containsPattern("nvme0\\s+03:00.0\\s+nvme\\s.*2:mem@0x4000000000/64MiB").containsPattern("rnic0\\s+04:00.0\\s+rnic\\s")
                .containsPattern("mlx5vf1\\s+0b:00.1\\s+mlx5-vf\\s").containsPattern("mlx5pf1\\s+0b:00.0\\s+generic\\s+rp6\\s");
        // every DMA domain's reserved regions: hb0's BARs as bus windows, and x86's MSI window
        assertThat(r.out()).contains("reserved IOVA regions")
                .containsPattern("iommu dmar0 group 3 \\(lazy, x86-64\\)\\s+dmatest1\\s+0xc0000000\\s+0xc0003fff\\s+16 KiB\\s+pci-window\n")
                .containsPattern("\\s+0xfee00000\\s+0xfeefffff\\s+1 MiB\\s+msi\n")
                .containsPattern("\\s+0x4000000000\\s+0x4003ffffff\\s+64 MiB\\s+pci-window\n");
    }

    @Test
    void machineP2pJsonHasTheMatrixWithTheKernelsReasons() throws Exception {
        Run r = dmactl("machine", "--p2p", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode p2p = new ObjectMapper().readTree(r.out()).get("p2p");
        JsonNode rnic = null;
        JsonNode engine = null;
        for (JsonNode pair : p2p) {
            if (pair.get("provider").asText().equals("nvme0") && pair.get("client").asText().equals("rnic0")) {
                rnic = pair;
            }
            if (pair.get("provider").asText().equals("nvme0") && pair.get("client").asText().equals("dmatest0")) {
                engine = pair;
            }
        }
        assertThat(rnic.get("mapType").asText()).isEqualTo("BUS_ADDR");
        assertThat(rnic.get("distance").asInt()).isEqualTo(4);
        assertThat(rnic.get("why").asText()).isEqualTo("both below sw0, no ACS redirect");
        assertThat(engine.get("mapType").asText()).isEqualTo("NOT_SUPPORTED");
        assertThat(engine.get("why").asText()).isEqualTo("no common switch, and hb0 does not forward peer-to-peer traffic");
    }

    @Test
    void machineJsonHasTheFabricTheDevicesAndEachDomainsReservedRegions() throws Exception {
        Run r = dmactl("machine", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode root = new ObjectMapper().readTree(r.out());
        JsonNode domain = null;
        for (JsonNode d : root.get("domains")) {
            if (d.get("devices").toString().contains("\"dmatest1\"")) {
                domain = d;
            }
        }
        assertThat(domain).as("dmatest1's domain is listed").isNotNull();
        assertThat(domain.get("translation").asText()).isEqualTo("iommu dmar0 group 3 (lazy, x86-64)");
        boolean msi = false;
        for (JsonNode reg : domain.get("reservedRegions")) {
            msi |= reg.get("type").asText().equals("msi") && reg.get("start").asLong() == 0xfee0_0000L && reg.get("end").asLong() == 0xfeef_ffffL;
        }
        assertThat(msi).as("the x86 MSI window").isTrue();
        for (JsonNode dev : root.get("devices")) {
            assertThat(dev.get("translation").asText()).as("each device names its translation").isNotBlank();
            assertThat(dev.get("dmaBits").asInt()).as("mask widths in bits").isBetween(32, 64);
            if (dev.get("name").asText().equals("mlx5vf0")) {
                assertThat(dev.get("bdf").asText()).isEqualTo("0000:06:00.1");
                assertThat(dev.get("port").asText()).isEqualTo("rp1");
                assertThat(dev.get("dmaMask").asText()).isEqualTo("0xffffffffffffffff");
            }
        }
        for (JsonNode f : root.get("fabric")) {
            if (f.get("name").asText().equals("hb0")) {
                assertThat(f.get("p2pForwarding").asBoolean()).as("the host bridge's P2P flag").isFalse();
                assertThat(f.get("bdf").asText()).isEqualTo("0000:00:00.0");
            }
            if (f.get("name").asText().equals("mlx5vf1")) {
                assertThat(f.get("physfn").asText()).isEqualTo("mlx5pf1");
                assertThat(f.get("vf").asInt()).isEqualTo(1);
            }
        }
    }

    @Test
    void machineP2pPrintsTheMatrix() {
        Run r = dmactl("machine", "--p2p");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("peer-to-peer (client row -> provider column")
                .containsPattern("rnic0\\s+bus/4\\s+bus/4\n").containsPattern("dmatest0\\s+x\\s+x\n")
                .containsPattern("dmatest1\\s+iommu dmar0 group 3 \\(lazy, x86-64\\)");
    }

    @Test
    void conformanceRunsTheKitAndWritesAJunitReport(@TempDir Path reports) throws Exception {
        Run r = dmactl("conformance", "--provider", "direct", "--report", reports.toString());
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("provider direct").containsPattern("direct\\s+required_mask_neverExceeded\\s+passed")
                .containsPattern("direct\\s+optional_linkSync_oneContiguousRange\\s+skipped\\s+Assumption failed: the provider does not declare TWO_STEP")
                .containsPattern("15 rules: 9 passed, 0 failed, 6 skipped");
        try (var files = Files.list(reports)) {
            assertThat(files.map(p -> p.getFileName().toString())).anyMatch(n -> n.startsWith("TEST-") && n.endsWith(".xml"));
        }
        Run none = dmactl("conformance", "--provider", "nosuch", "--report", reports.toString());
        assertThat(none.code()).isEqualTo(1);
        assertThat(none.err()).isEqualTo("dmactl: no provider named 'nosuch' was found\n");
    }

    @Test
    void conformanceWritesItsReportToATemporaryDirectoryByDefault() throws Exception {
        Run r = dmactl("conformance", "--provider", "p2p");
        assertThat(r.code()).as(r.err()).isZero();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("JUnit XML report in (\\S+)").matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        Path dir = Path.of(m.group(1));
        assertThat(dir.getFileName().toString()).startsWith("dmactl-conformance-");
        assertThat(dir.toAbsolutePath().startsWith(Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath())).isTrue();
        assertThat(Files.exists(Path.of("target/conformance-reports"))).as("nothing in the working directory").isFalse();
        try (var files = Files.walk(dir)) {
            for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        }
    }

    @Test
    void conformanceRunsTheKitOnTheGivenMachine(@TempDir Path dir) throws Exception {
        // the built-in machine with 32-bit copy engines: the mask rule must bounce or refuse there
        Path machine = dir.resolve("narrow.json");
        Files.writeString(machine, io.dma4j.platform.description.MachineDescriptionParser.defaultJson()
                .replace("\"name\": \"dmatest0\", \"model\": \"copy-engine\", \"port\": \"rp2\", \"dmaBits\": 64",
                        "\"name\": \"dmatest0\", \"model\": \"copy-engine\", \"port\": \"rp2\", \"dmaBits\": 31"));
        Run r = dmactl("conformance", "--provider", "direct", "--machine", machine.toString(), "--report", dir.resolve("r").toString());
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).containsPattern("direct\\s+required_mask_neverExceeded\\s+passed").containsPattern("15 rules: 9 passed, 0 failed, 6 skipped");
        // a machine the kit cannot use says so for every rule: proof that the file, not the built-in machine, was used
        Path bare = dir.resolve("bare.json");
        Files.writeString(bare, """
                {"memory": [{"base": "1MiB", "size": "1GiB"}],
                 "devices": [{"name": "other", "model": "copy-engine", "bars": [{"index": 0, "kind": "registers", "address": "0xc0000000", "size": "4KiB"}]}]}""");
        Run b = dmactl("conformance", "--provider", "direct", "--machine", bare.toString(), "--report", dir.resolve("b").toString());
        assertThat(b.out()).contains("serves none of the kit's copy engines [dmatest0, dmatest1]").containsPattern("15 rules: 0 passed, 0 failed, 15 skipped");
    }

    @Test
    void aBenchmarkWhoseWorkerCannotStartFailsInOneLine() {
        Run r = dmactl("map-bench", "--buffer-above", "100GiB", "--seconds", "0.2");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).doesNotContain("map+unmap pairs");
        assertThat(r.err()).startsWith("dmactl: --buffer-above 0x1900000000: no free 4 KiB buffer at or above it (").endsWith(")\n")
                .satisfies(e -> assertThat(e.lines().count()).isEqualTo(1));
    }

    @Test
    void theCommandsSayWhatIsWrongInOneLineBeforePrintingAnything() {
        Run machine = dmactl("machine", "-D", "dma4j.backend.dmatest0=nope");
        assertThat(machine.code()).isEqualTo(1);
        assertThat(machine.out()).as("nothing printed before the error").isEmpty();
        assertThat(machine.err()).isEqualTo("dmactl: configuration dma4j.backend.dmatest0=nope: no provider of that name (mapping backends: iommu, direct, fixed-window)\n");
        Run notNvme = dmactl("run", "nvme", "--device", "dmatest0");
        assertThat(notNvme.code()).isEqualTo(2);
        assertThat(notNvme.err()).isEqualTo("dmactl: --device dmatest0: a copy-engine, not an NVMe controller (NVMe devices: nvme0)\n");
        Run help = dmactl("--help");
        assertThat(help.out()).contains("run          Runs a workload ('nvme': writes and reads back requests through\n                 the NVMe driver; 'odp': RDMA on-demand paging on the RNIC;\n"
                + "                 'migrate': VFIO live migration of an mlx5 VF to a second one;\n                 'dmabuf': a GPU's memory shared with the NVMe controller and\n"
                + "                 the RNIC while it is revoked and restored), verifying every\n                 byte.");
    }

    @Test
    void runNvmeVerifiesEveryByteOnBothApis() throws Exception {
        for (String api : new String[] {"two-step", "classic"}) {
            Run r = dmactl("run", "nvme", "--requests", "40", "--min-size", "8KiB", "--api", api, "--json"); // 8 KiB up: every request has two segments or more
            assertThat(r.code()).as(r.err()).isZero();
            JsonNode s = new ObjectMapper().readTree(r.out());
            assertThat(s.get("verifyFailures").asLong()).isZero();
            assertThat(s.get("requests").asLong()).as("the pairs --requests asked for").isEqualTo(40);
            assertThat(s.get("ioCommands").asLong()).as("a write and a read each").isEqualTo(80);
            assertThat(s.get("backend").asText()).isEqualTo("iommu");
            if (api.equals("two-step")) {
                assertThat(s.get("bookkeepingBytesPerCommand").asDouble()).as("one IOVA state per request").isEqualTo(16.0);
            } else {
                assertThat(s.get("bookkeepingBytesPerCommand").asDouble()).as("16 bytes per mapped segment").isGreaterThan(16.0);
            }
        }
        Run bad = dmactl("run", "nvme", "--max-size", "128MiB");
        assertThat(bad.code()).as("a value beyond what the option allows here: a usage error").isEqualTo(2);
        assertThat(bad.err()).isEqualTo("dmactl: --max-size 128MiB (expected: at most 64 MiB)\n");
        // above the transfer limit (128 KiB behind the IOMMU) a request is split into commands, as the block layer splits it
        Run split = dmactl("run", "nvme", "--requests", "5", "--min-size", "256KiB", "--max-size", "256KiB", "--sgl-threshold", "0", "--json");
        assertThat(split.code()).as(split.err()).isZero();
        JsonNode s = new ObjectMapper().readTree(split.out());
        assertThat(s.get("verifyFailures").asLong()).isZero();
        assertThat(s.get("transferLimit").asLong()).isEqualTo(128 * 1024);
        assertThat(s.get("ioCommands").asLong()).as("5 pairs, each write and read in two commands").isEqualTo(20);
        assertThat(s.get("sglThreshold").asLong()).isZero();
        assertThat(s.get("descriptorBytes").asLong()).as("one IOVA range per command, a PRP list of 31 entries from the small pool").isEqualTo(4096);
        assertThat(s.get("writeLatency").get("count").asLong()).as("5 pairs, none of them warm-up (a tenth of 5 is 0)").isEqualTo(5);
        assertThat(s.get("readLatency").get("max").asLong()).isGreaterThanOrEqualTo(s.get("readLatency").get("p50").asLong()).isPositive();
        assertThat(s.get("smallPoolBytes").asLong()).isEqualTo(4096);
    }

    @Test
    void runDmabufSharesGpuMemoryWithTwoImportersThroughRevokes() throws Exception {
        Run r = dmactl("run", "dmabuf", "--requests", "300", "--revoke-rate", "2000", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode s = new ObjectMapper().readTree(r.out());
        assertThat(s.get("verifyFailures").asLong()).isZero();
        assertThat(s.get("accessesAfterRevoke").asLong()).as("no byte reached the buffer while revoked").isZero();
        assertThat(s.get("revokes").asLong()).isPositive();
        assertThat(s.get("nvmeReads").asLong() + s.get("rdmaWrites").asLong() + s.get("refusedWhileRevoked").asLong()).isEqualTo(300);
        assertThat(s.get("maps").asLong()).as("both importers mapped at least once").isGreaterThanOrEqualTo(2);
        assertThat(s.get("importerWarnings").asLong()).isZero();
        assertThat(s.get("revokeToStop").get("count").asLong()).isEqualTo(s.get("revokes").asLong());
        Run bad = dmactl("run", "dmabuf", "--revoke-mode", "sometimes");
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).isEqualTo("dmactl: --revoke-mode sometimes (expected: decode, reset or both)\n");
    }

    @Test
    void runMigrateMovesTheVfStateAndShowsTheBookkeepingOfBothDesigns() throws Exception {
        for (String api : new String[] {"two-step", "classic"}) {
            Run r = dmactl("run", "migrate", "--size", "4MiB", "--guest-size", "1MiB", "--api", api, "--threshold", "256KiB", "--json");
            assertThat(r.code()).as(r.err()).isZero();
            JsonNode s = new ObjectMapper().readTree(r.out());
            assertThat(s.get("stateEqual").asBoolean()).isTrue();
            assertThat(s.get("guestMemoryEqual").asBoolean()).isTrue();
            assertThat(s.get("precopyRounds").asInt()).isBetween(1, 16);
            assertThat(s.get("bytesPerRound").get(0).asLong()).as("the initial image").isGreaterThan(4L << 20);
            assertThat(s.get("stopCopyBytes").asLong()).isPositive().isLessThan(4L << 20);
            assertThat(s.get("guestPagesReported").asLong()).isPositive();
            assertThat(s.get("deviceFaults").asLong()).isZero();
            assertThat(s.get("commandErrors").asLong()).isZero();
            if (api.equals("two-step")) {
                assertThat(s.get("iovaAllocationsPerBuffer").asDouble()).isEqualTo(1.0);
                assertThat(s.get("bookkeepingBytesPerPage").asDouble()).isBetween(8.0, 8.1);
            } else {
                assertThat(s.get("iovaAllocs").asLong()).isZero();
                assertThat(s.get("bookkeepingBytesPerPage").asDouble()).as("scattered pages: an entry per page").isEqualTo(32.0);
            }
        }
        Run text = dmactl("run", "migrate", "--size", "1MiB", "--guest-size", "64KiB", "--contiguous");
        assertThat(text.code()).as(text.err()).isZero();
        assertThat(text.out()).startsWith("run migrate: mlx5vf0 -> mlx5vf1 (backend iommu), api two-step, 1 MiB state, 64 KiB guest memory")
                .containsPattern("stateEqual\\s+true");
        Run bad = dmactl("run", "migrate", "--destination", "mlx5vf0");
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).isEqualTo("dmactl: --destination mlx5vf0: the same VF as --device (expected: a second VF)\n");
        Run notVf = dmactl("run", "migrate", "--destination", "rnic0");
        assertThat(notVf.code()).isEqualTo(2);
        assertThat(notVf.err()).isEqualTo("dmactl: --destination rnic0: a rnic, not an mlx5 VF (mlx5 VFs: mlx5vf0, mlx5vf1)\n");
    }

    @Test
    void runOdpVerifiesEveryByteAndReportsOneIovaAllocationInTwoStepMode() throws Exception {
        for (String api : new String[] {"two-step", "classic"}) {
            Run r = dmactl("run", "odp", "--requests", "300", "--size", "4MiB", "--max-size", "64KiB", "--api", api, "--invalidate-rate", "5000", "--json");
            assertThat(r.code()).as(r.err()).isZero();
            JsonNode s = new ObjectMapper().readTree(r.out());
            assertThat(s.get("verifyFailures").asLong()).isZero();
            assertThat(s.get("requests").asLong()).isEqualTo(300);
            assertThat(s.get("pageFaults").asLong()).isPositive();
            assertThat(s.get("deviceFaults").asLong()).as("the NIC never used an unlinked page").isZero();
            assertThat(s.get("pagesMapped").asLong()).isLessThanOrEqualTo(1024);
            if (api.equals("two-step")) {
                assertThat(s.get("iovaAllocs").asLong()).as("one IOVA allocation per MR").isEqualTo(1);
                assertThat(s.get("bookkeepingBytesPerPage").asDouble()).isEqualTo(8.0);
            } else {
                assertThat(s.get("iovaAllocs").asLong()).isZero();
                assertThat(s.get("bookkeepingBytesPerPage").asDouble()).isEqualTo(16.0);
            }
        }
        Run implicit = dmactl("run", "odp", "--requests", "100", "--size", "4MiB", "--max-size", "64KiB", "--implicit", "--json");
        assertThat(implicit.code()).as(implicit.err()).isZero();
        JsonNode si = new ObjectMapper().readTree(implicit.out());
        assertThat(si.get("region").asText()).isEqualTo("implicit");
        assertThat(si.get("implicitChildren").asLong()).as("a 4 MiB region inside one 1 GiB window").isEqualTo(1);
        assertThat(si.get("bookkeepingBytesPerPage").asDouble()).isEqualTo(8.0);
        Run bad = dmactl("run", "odp", "--size", "100");
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).isEqualTo("dmactl: --size 100 (expected: a multiple of 4 KiB from 1 MiB to 1 GiB)\n");
        Run notRnic = dmactl("run", "odp", "--device", "nvme0");
        assertThat(notRnic.code()).isEqualTo(2);
        assertThat(notRnic.err()).isEqualTo("dmactl: --device nvme0: a nvme, not an RNIC\n");
    }

    @Test
    void mapBenchMeasuresAndPrintsJson() throws Exception {
        Run r = dmactl("map-bench", "--seconds", "0.3", "--granule", "4", "--dir", "1", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode res = new ObjectMapper().readTree(r.out()).get("result");
        assertThat(res.get("device").asText()).isEqualTo("dmatest0");
        assertThat(res.get("backend").asText()).isEqualTo("direct");
        assertThat(res.get("direction").asText()).isEqualTo("TO_DEVICE");
        assertThat(res.get("granulePages").asInt()).isEqualTo(4);
        assertThat(res.get("ops").asLong()).isPositive();
        assertThat(res.get("mapAvgNs").asDouble()).isPositive();
        assertThat(res.get("fallback").asBoolean()).isFalse();
        assertThat(res.get("warmupSeconds").asDouble()).as("a tenth of --seconds").isEqualTo(0.03, org.assertj.core.api.Assertions.within(1e-9));
        for (String op : new String[] {"mapLatency", "unmapLatency"}) {
            JsonNode l = res.get(op);
            assertThat(l.get("count").asLong()).as("%s: one value per measured pair", op).isEqualTo(res.get("ops").asLong());
            assertThat(l.get("p50").asLong()).as(op).isPositive();
            assertThat(l.get("p90").asLong()).isGreaterThanOrEqualTo(l.get("p50").asLong());
            assertThat(l.get("p99").asLong()).isGreaterThanOrEqualTo(l.get("p90").asLong());
            assertThat(l.get("p999").asLong()).isGreaterThanOrEqualTo(l.get("p99").asLong());
            assertThat(l.get("max").asLong()).isGreaterThanOrEqualTo(l.get("p999").asLong());
        }
        Run text = dmactl("map-bench", "--seconds", "0.2", "--warmup", "0");
        assertThat(text.out()).containsPattern("LATENCY \\(ns\\)\\s+P50\\s+P90\\s+P99\\s+P99.9\\s+MAX").containsPattern("\\n  map\\s+[0-9,]+\\s+")
                .contains("after 0.0 s of warm-up");
        Run bad = dmactl("map-bench", "--warmup", "61");
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).isEqualTo("dmactl: --warmup 61.0 (expected: 0..60 seconds)\n");
    }

    @Test
    void mapBenchTextShowsLatenciesAndTheTwoStepFallbackOnDirect() {
        Run r = dmactl("map-bench", "--seconds", "0.2", "--api", "two-step", "--threads", "2", "--stats");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("map-bench: device dmatest0 (backend direct), api two-step, 2 thread(s)")
                .contains("note: the backend has no IOVA space").contains("average map latency").contains("average unmap latency")
                .containsPattern("iovaAllocFallbacks\\s+[1-9]").containsPattern("liveBytes\\s+0\n");
    }

    @Test
    void mapBenchOnABouncedDeviceShowsThePool() throws Exception {
        Run r = dmactl("map-bench", "--device", "legacy32", "--buffer-above", "4GiB", "--seconds", "0.2", "--stats", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode stats = new ObjectMapper().readTree(r.out()).get("statistics");
        assertThat(stats.get("bounce.mappings").asLong()).isEqualTo(stats.get("maps").asLong()).isPositive();
        assertThat(stats.get("bounce.slots.used").asLong()).isZero();
        assertThat(stats.get("bounce.slots.highWater").asLong()).isEqualTo(2);
        assertThat(stats.get("bounce.slots.total").asLong()).isEqualTo(32768);
    }

    @Test
    void mapBenchWithDebugAndAMaskRestoresTheMask() {
        Run r = dmactl("map-bench", "--seconds", "0.1", "--debug", "--dma-bits", "40", "--device", "dmatest1");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("device dmatest1");
    }

    @Test
    void problemsAreOneLineOnStderrWithExitCode1() {
        Run noDevice = dmactl("map-bench", "--device", "nosuch", "--seconds", "0.1");
        assertThat(noDevice.code()).isEqualTo(1);
        assertThat(noDevice.err()).startsWith("dmactl: no device 'nosuch' on machine 'default' (devices: nvme0, rnic0");
        Run badThreads = dmactl("map-bench", "--threads", "0");
        assertThat(badThreads.code()).as("an option value out of range is a usage error").isEqualTo(2);
        assertThat(badThreads.err()).isEqualTo("dmactl: --threads 0 (expected: 1..1024)\n");
        Run badRequests = dmactl("run", "nvme", "--requests", "0");
        assertThat(badRequests.code()).isEqualTo(2);
        assertThat(badRequests.err()).isEqualTo("dmactl: --requests 0 (expected: >= 1)\n");
        Run badConfig = dmactl("providers", "-D", "dma4j.nonsense=1");
        assertThat(badConfig.code()).isEqualTo(1);
        assertThat(badConfig.err()).startsWith("dmactl: configuration dma4j.nonsense: unknown name");
        Run badDir = dmactl("map-bench", "--dir", "sideways");
        assertThat(badDir.code()).isEqualTo(2);
        assertThat(badDir.err()).contains("'sideways' is not a direction");
    }

    @Test
    void aBadMachineFileIsNamedWithItsPath(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bad.json");
        Files.writeString(f, "{\"memory\": [{\"base\": 0, \"size\": \"1GiB\"}], \"devices\": [{\"name\": \"x\", \"dmaBits\": 99}]}");
        Run r = dmactl("machine", "--machine", f.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("dmactl: " + f + ": $.devices[0].dmaBits: expected an integer 1..64, got 99\n");
    }
}
