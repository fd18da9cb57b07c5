package io.dma4j.runtime;

import io.dma4j.runtime.testing.Bytes;
import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaMapper;
import io.dma4j.platform.Machine;
import io.dma4j.runtime.testing.VendorJar;
import io.dma4j.platform.device.CopyEngine;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.DmaRole;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

import static io.dma4j.api.DmaDirection.FROM_DEVICE;
import static io.dma4j.api.DmaDirection.TO_DEVICE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ProviderDiscoveryTest {
    @TempDir
    Path dir;
    private Machine machine;

    @BeforeEach
    void setUp() {
        machine = Machine.createDefault();
    }

    @AfterEach
    void tearDown() {
        machine.close();
    }

    private DmaRuntime runtime(Map<String, String> config) {
        return DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(config)).build();
    }

    @Test
    void directIsFoundOnTheClassPathAndServesEveryDeviceByDefault() {
        try (DmaRuntime rt = runtime(Map.of())) {
            assertThat(rt.providers()).extracting(DiscoveredProvider::name).containsExactly("direct");
            assertThat(rt.providers().getFirst().origin()).isEqualTo("class path");
            for (var d : machine.devices()) {
                assertThat(rt.backendFor(d.name()).name()).isEqualTo("direct");
            }
        }
    }

    @Test
    void aVendorJarInTheExtraDirectoryIsDiscoveredAndUsedWhenConfigured() {
        VendorJar.build(dir);
        try (DmaRuntime rt = runtime(Map.of(RuntimeConfig.PROVIDERS_DIR, dir.toString(), "dma4j.backend.dmatest0", "acme"))) {
            DiscoveredProvider acme = rt.providers().stream().filter(p -> p.name().equals("acme")).findFirst().orElseThrow();
            assertThat(acme.origin()).isEqualTo("extra jar");
            assertThat(acme.location()).isEqualTo("acme-dma.jar");
            assertThat(acme.provider().version()).isEqualTo("2.5.1");
            assertThat(rt.backendFor("dmatest0").name()).isEqualTo("acme");
            assertThat(rt.backendFor("dmatest1").name()).as("lower priority than direct, so only where configured").isEqualTo("direct");
            DmaMapper m = rt.mapper("dmatest0");
            long src = machine.pageAllocator().allocPages(0);
            long dst = machine.pageAllocator().allocPages(0);
            Bytes.fill(machine.addressSpace(), src, 4096, 3);
            long s = m.mapPhys(src, 4096, TO_DEVICE, DmaAttrs.NONE);
            long d = m.mapPhys(dst, 4096, FROM_DEVICE, DmaAttrs.NONE);
            assertThat(s).isEqualTo(src + VendorJar.ACME_OFFSET);
            assertThat(CopyEngine.copy(machine.addressSpace(), machine.device("dmatest0").bar(0), s, d, 4096)).isEqualTo(CopyEngine.STATUS_DONE);
            m.unmapPhys(d, 4096, FROM_DEVICE, 0);
            m.unmapPhys(s, 4096, TO_DEVICE, 0);
            assertThat(Bytes.mismatch(machine.addressSpace(), dst, 4096, 3)).isEqualTo(-1);
            assertThat(rt.statistics("dmatest0").asMap()).containsEntry("backend.maps", 2L);
        }
    }

    @Test
    void configurationErrorsSayWhatIsWrong() throws Exception {
        assertThatThrownBy(() -> {
            try (DmaRuntime r = runtime(Map.of("dma4j.backend.dmatest0", "nope"))) { // a runtime holds the machine until closed
                r.mapper("dmatest0");
            }
        })
                .isInstanceOf(DmaConfigurationException.class)
                .hasMessage("configuration dma4j.backend.dmatest0=nope: no provider of that name (mapping backends: direct)");
        assertThatThrownBy(() -> runtime(Map.of("dma4j.backend.nosuch", "direct")))
                .isInstanceOf(DmaConfigurationException.class).hasMessageStartingWith("configuration dma4j.backend.nosuch: no device 'nosuch'");
        assertThatThrownBy(() -> runtime(Map.of("dma4j.debgu", "false")))
                .isInstanceOf(DmaConfigurationException.class).hasMessageStartingWith("configuration dma4j.debgu: unknown name (known: dma4j.backend, dma4j.bounce");
        assertThatThrownBy(() -> runtime(Map.of("dma4j.debug", "yes")))
                .isInstanceOf(DmaConfigurationException.class).hasMessage("configuration dma4j.debug=yes (expected: true or false)");
        assertThatThrownBy(() -> runtime(Map.of(RuntimeConfig.BOUNCE, "direct")))
                .isInstanceOf(DmaConfigurationException.class)
                .hasMessage("configuration dma4j.bounce=direct: provider direct does not fill the role BOUNCE_SERVICE (providers of BOUNCE_SERVICE: (none), or none)");
        assertThatThrownBy(() -> runtime(Map.of(RuntimeConfig.PROVIDERS_DIR, dir.resolve("missing").toString())))
                .isInstanceOf(DmaConfigurationException.class).hasMessageEndingWith("does not exist or is not a directory");
        Files.writeString(dir.resolve("broken.jar"), "not a zip");
        assertThatThrownBy(() -> runtime(Map.of(RuntimeConfig.PROVIDERS_DIR, dir.toString())))
                .isInstanceOf(DmaConfigurationException.class).hasMessageContaining("broken.jar");
    }

    @Test
    void twoProvidersWithOneNameAreRefused() {
        DmaProvider impostor = new DmaProvider() {
            @Override
            public String name() {
                return "direct";
            }

            @Override
            public String spiVersion() {
                return io.dma4j.spi.DmaSpi.VERSION;
            }

            @Override
            public Set<DmaRole> roles() {
                return Set.of(DmaRole.MAPPING_BACKEND);
            }
        };
        assertThatThrownBy(() -> DmaRuntime.builder().machine(machine).config(RuntimeConfig.defaults()).addProvider(impostor).build())
                .isInstanceOf(DmaConfigurationException.class)
                .hasMessageStartingWith("two providers are named 'direct': io.dma4j.provider.direct.DirectProvider (class path");
    }

    @Test
    void aConfiguredProviderThatCannotServeTheDeviceIsRefused() {
        DmaProvider picky = new DmaProvider() {
            @Override
            public String name() {
                return "picky";
            }

            @Override
            public String spiVersion() {
                return io.dma4j.spi.DmaSpi.VERSION;
            }

            @Override
            public Set<DmaRole> roles() {
                return Set.of(DmaRole.MAPPING_BACKEND);
            }

            @Override
            public boolean canServe(Machine m, io.dma4j.platform.device.Device d) {
                return d.iommu() != null;
            }
        };
        try (DmaRuntime rt = DmaRuntime.builder().machine(machine).addProvider(picky)
                .config(RuntimeConfig.of(Map.of("dma4j.backend", "picky"))).build()) {
            assertThatThrownBy(() -> rt.mapper("dmatest0")).isInstanceOf(DmaConfigurationException.class)
                    .hasMessage("configuration dma4j.backend=picky: provider picky cannot serve device dmatest0 (not behind an IOMMU)");
            assertThatThrownBy(() -> rt.mapper("nosuch")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("no device 'nosuch' on machine 'default' (devices: nvme0, rnic0");
        }
    }

    @Test
    void twoCopiesOfOneProviderJarAreRefusedNamingBoth(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path jar = io.dma4j.runtime.testing.VendorJar.build(dir);
        Path copy = java.nio.file.Files.copy(jar, dir.resolve("acme-dma-1.0-copy.jar"));
        assertThatThrownBy(() -> runtime(Map.of(RuntimeConfig.PROVIDERS_DIR, dir.toString())))
                .isInstanceOf(DmaConfigurationException.class)
                .hasMessageContaining("provider com.acme.dma.AcmeProvider is declared by two jars: ")
                .hasMessageContaining(jar.toString()).hasMessageContaining(copy.toString())
                .hasMessageEndingWith("(two copies or versions of one jar in the providers directory): keep one");
    }
}
