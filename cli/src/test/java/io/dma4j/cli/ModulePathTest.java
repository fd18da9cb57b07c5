package io.dma4j.cli;

import io.dma4j.runtime.testing.VendorJar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
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
        String deps = Files.readString(Path.of("target/module-path.txt")).trim();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=io.dma4j.platform", "-Dguice_bytecode_gen_option=DISABLED",
                "-p", Path.of("target/classes").toAbsolutePath() + File.pathSeparator + deps,
                "--add-modules", "ALL-MODULE-PATH", "-m", "io.dma4j.cli/io.dma4j.cli.Dmactl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }

    @Test
    void providersOnTheModulePathIncludeAVendorJarFromTheExtraDirectory(@TempDir Path dir) throws Exception {
        VendorJar.build(dir);
        Result r = dmactl("providers", "--providers-dir", dir.toString());
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).containsPattern("direct\\s+mapping-backend\\s+dev\\s+0\\s+module path\\s+io.dma4j.provider.direct")
                .containsPattern("acme\\s+mapping-backend\\s+2.5.1\\s+-10\\s+extra jar\\s+com.acme.dma \\(acme-dma.jar\\)")
                .doesNotContain("WARNING");
    }

    @Test
    void aConfiguredVendorBackendIsUsed(@TempDir Path dir) throws Exception {
        VendorJar.build(dir);
        Result machine = dmactl("machine", "-p", dir.toString(), "-D", "dma4j.backend.dmatest0=acme");
        assertThat(machine.code()).as(machine.out()).isZero();
        assertThat(machine.out()).containsPattern("dmatest0\\s+copy-engine.*\\s+acme\\s+0:regs");
        Result bench = dmactl("map-bench", "-p", dir.toString(), "-D", "dma4j.backend.dmatest0=acme", "--seconds", "0.2", "--stats");
        assertThat(bench.code()).as(bench.out()).isZero();
        assertThat(bench.out()).contains("(backend acme)").containsPattern("backend.maps\\s+[1-9]");
    }
}
