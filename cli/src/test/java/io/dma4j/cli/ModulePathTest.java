package io.dma4j.cli;

import io.dma4j.runtime.testing.VendorJar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs dmactl as its own JVM on the module path, as the ./dmactl launcher does: the
 * module descriptors, service bindings and the extra-jar module layer are exercised for real.
 */
class ModulePathTest {
    record Result(int code, String out) {
    }

    private static Result dmactl(String... args) throws Exception {
        String deps = deps();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=io.dma4j.platform", "-Dguice_bytecode_gen_option=DISABLED",
                "-p", Path.of("target/classes").toAbsolutePath() + File.pathSeparator + deps,
                "--add-modules", "ALL-MODULE-PATH", "-m", "io.dma4j.cli/io.dma4j.cli.Dmactl"));
        cmd.addAll(List.of(args));
        return exec(cmd);
    }

    private static String deps() throws IOException {
        return Files.readString(Path.of("target/module-path.txt")).trim();
    }

    private static Result exec(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8); // returns at the process's end
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Every --json output of dmactl, on the module path (where Jackson needs the cli package opened), parses. */
    @Test
    void everyJsonOutputParsesOnTheModulePath() throws Exception {
        JsonNode providers = JSON.readTree(dmactl("providers", "--json").out());
        assertThat(providers.isArray()).isTrue();
        assertThat(providers.findValuesAsText("name")).contains("direct", "iommu", "swiotlb", "p2p");
        JsonNode machine = JSON.readTree(dmactl("machine", "--json").out());
        assertThat(machine.path("devices").isArray()).isTrue();
        assertThat(machine.path("devices").findValuesAsText("name")).contains("dmatest0", "nvme0");
        JsonNode bench = JSON.readTree(dmactl("map-bench", "--seconds", "0.2", "--stats", "--json").out());
        assertThat(bench.path("result").path("ops").asLong()).isPositive();
        assertThat(bench.path("statistics").path("maps").asLong()).isPositive();
        JsonNode nvme = JSON.readTree(dmactl("run", "nvme", "--requests", "8", "--json").out());
        assertThat(nvme.path("verifyFailures").asLong()).isZero();
        assertThat(nvme.path("backend").asText()).isEqualTo("iommu"); // nvme0 sits behind dmar0
        assertThat(nvme.path("backend.iotlb.syncMaps").asLong()).isPositive();
    }

    /**
     * A plain JPMS application that {@code requires io.dma4j.runtime} and nothing else starts
     * with {@code java -p ... -m} and no {@code --add-modules}: the runtime's descriptor brings
     * Guice's dependencies, service binding brings the providers, and a page is mapped.
     */
    @Test
    void aPlainJpmsApplicationRequiringTheRuntimeMapsAPage(@TempDir Path dir) throws Exception {
        Path src = Files.createDirectories(dir.resolve("src/app"));
        Path classes = Files.createDirectories(dir.resolve("classes"));
        try (var in = ModulePathTest.class.getResourceAsStream("/jpms-app/module-info.java.txt")) {
            Files.write(dir.resolve("src/module-info.java"), in.readAllBytes());
        }
        try (var in = ModulePathTest.class.getResourceAsStream("/jpms-app/Main.java.txt")) {
            Files.write(src.resolve("Main.java"), in.readAllBytes());
        }
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int rc = javax.tools.ToolProvider.getSystemJavaCompiler().run(null, err, err, "--release", "25", "-d", classes.toString(),
                "--module-path", deps(), dir.resolve("src/module-info.java").toString(), src.resolve("Main.java").toString());
        assertThat(rc).as(err.toString(StandardCharsets.UTF_8)).isZero();
        Result r = exec(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=io.dma4j.platform",
                "-p", classes + File.pathSeparator + deps(), "-m", "app/app.Main"));
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).contains("backend direct, status 1, read back 0x5eedcafe").doesNotContain("WARNING"); // 1: CopyEngine.STATUS_DONE
        // the same program on the class path, with no flag about Guice: no JDK warning either
        Path cpClasses = Files.createDirectories(dir.resolve("cp-classes"));
        rc = javax.tools.ToolProvider.getSystemJavaCompiler().run(null, err, err, "--release", "25", "-d", cpClasses.toString(),
                "-cp", deps(), src.resolve("Main.java").toString());
        assertThat(rc).as(err.toString(StandardCharsets.UTF_8)).isZero();
        Result cp = exec(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "-cp", cpClasses + File.pathSeparator + deps(), "app.Main"));
        assertThat(cp.code()).as(cp.out()).isZero();
        assertThat(cp.out()).contains("backend direct, status 1, read back 0x5eedcafe").doesNotContain("WARNING");
    }

    @Test
    void providersOnTheModulePathIncludeAVendorJarFromTheExtraDirectory(@TempDir Path dir) throws Exception {
        VendorJar.build(dir);
        Result r = dmactl("providers", "--providers-dir", dir.toString());
        assertThat(r.code()).as(r.out()).isZero();
        // on the module path the version is the module's, set by the build from the project version
        String version = System.getProperty("dmactltest.projectVersion");
        assertThat(version).as("set by the cli pom").isNotBlank();
        assertThat(dmactl("--version").out()).startsWith("dmactl " + version + " (Java ");
        assertThat(r.out()).containsPattern("direct\\s+mapping-backend\\s+" + java.util.regex.Pattern.quote(version) + "\\s+0\\s+module path\\s+io.dma4j.provider.direct")
                .containsPattern("acme\\s+mapping-backend\\s+2.5.1\\s+-10\\s+extra jar\\s+com.acme.dma \\(acme-dma.jar\\)")
                .doesNotContain("WARNING");
    }

    @Test
    void aConfiguredVendorBackendIsUsed(@TempDir Path dir) throws Exception {
        VendorJar.build(dir);
        Result machine = dmactl("machine", "-p", dir.toString(), "-D", "dma4j.backend.dmatest0=acme");
        assertThat(machine.code()).as(machine.out()).isZero();
        assertThat(machine.out()).containsPattern("dmatest0\\s+07:00.0\\s+copy-engine.*\\s+acme\\s+0:regs");
        Result bench = dmactl("map-bench", "-p", dir.toString(), "-D", "dma4j.backend.dmatest0=acme", "--seconds", "0.2", "--stats");
        assertThat(bench.code()).as(bench.out()).isZero();
        assertThat(bench.out()).contains("(backend acme)").containsPattern("backend.maps\\s+[1-9]");
    }
}
