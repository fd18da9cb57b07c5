package io.dma4j.runtime.testing;

import io.dma4j.spi.DmaProvider;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

/**
 * Builds a vendor provider jar ("acme", module com.acme.dma) at test time, the way a
 * vendor would: compiled against the SPI only, with module-info and META-INF/services.
 */
public final class VendorJar {
    /** The DMA offset the acme backend adds to physical addresses. */
    public static final long ACME_OFFSET = 1L << 44;

    private VendorJar() {
    }

    /** Where the classes of these types come from: the module path for compiling against the SPI. */
    public static String modulePath() {
        List<String> entries = new ArrayList<>();
        for (String type : List.of("io.dma4j.platform.Machine", "io.dma4j.api.DmaMapper", "io.dma4j.spi.DmaProvider",
                "com.fasterxml.jackson.databind.ObjectMapper", "com.fasterxml.jackson.core.JsonFactory",
                "com.fasterxml.jackson.annotation.JsonAutoDetect")) {
            try {
                entries.add(Path.of(Class.forName(type).getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
            } catch (ClassNotFoundException | URISyntaxException e) {
                throw new IllegalStateException(e);
            }
        }
        return String.join(java.io.File.pathSeparator, entries);
    }

    /** Compiles the acme provider and writes {@code acme-dma.jar} into {@code dir}. */
    public static Path build(Path dir) {
        try {
            Path src = Files.createTempDirectory("acme-src");
            Path out = Files.createTempDirectory("acme-classes");
            Path pkg = Files.createDirectories(src.resolve("com/acme/dma"));
            copy("module-info.java.txt", src.resolve("module-info.java"));
            copy("AcmeProvider.java.txt", pkg.resolve("AcmeProvider.java"));
            copy("AcmeBackend.java.txt", pkg.resolve("AcmeBackend.java"));
            JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int rc = javac.run(null, err, err, "--release", "25", "-d", out.toString(), "--module-path", modulePath(),
                    src.resolve("module-info.java").toString(), pkg.resolve("AcmeProvider.java").toString(), pkg.resolve("AcmeBackend.java").toString());
            if (rc != 0) {
                throw new IllegalStateException("compiling the vendor provider failed:\n" + err.toString(StandardCharsets.UTF_8));
            }
            Path jar = dir.resolve("acme-dma.jar");
            try (OutputStream fos = Files.newOutputStream(jar); JarOutputStream jos = new JarOutputStream(fos); Stream<Path> files = Files.walk(out)) {
                for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                    jos.putNextEntry(new JarEntry(out.relativize(f).toString().replace('\\', '/')));
                    jos.write(Files.readAllBytes(f));
                    jos.closeEntry();
                }
                jos.putNextEntry(new JarEntry("META-INF/services/" + DmaProvider.class.getName()));
                jos.write("com.acme.dma.AcmeProvider\n".getBytes(StandardCharsets.UTF_8));
                jos.closeEntry();
            }
            return jar;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void copy(String resource, Path to) throws IOException {
        try (InputStream in = VendorJar.class.getResourceAsStream("/vendor/" + resource)) {
            Files.write(to, in.readAllBytes());
        }
    }
}
