package io.dma4j.runtime;

import io.dma4j.api.DmaMapper;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.Machine;
import io.dma4j.provider.direct.DirectProvider;
import io.dma4j.spi.BackendContext;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.DmaRole;
import io.dma4j.spi.DmaSpi;
import io.dma4j.spi.MappingBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Map;
import java.util.Set;

import static io.dma4j.api.DmaDirection.TO_DEVICE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The runtime as a chain: what a driver can reach, what a closed runtime does, what discovery refuses. */
class RuntimeChainTest {
    private final Machine machine = Machine.createDefault();

    @AfterEach
    void close() {
        machine.close();
    }

    private DmaRuntime runtime(Map<String, String> config) {
        return DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(config)).build();
    }

    @Test
    void noPublicPathFromTheRuntimeReachesABackendOrABounceService() {
        for (Method m : DmaRuntime.class.getMethods()) {
            if (Modifier.isPublic(m.getModifiers()) && m.getDeclaringClass() == DmaRuntime.class) {
                assertThat(MappingBackend.class.isAssignableFrom(m.getReturnType())).as(m.toString()).isFalse();
                assertThat(io.dma4j.spi.BounceService.class.isAssignableFrom(m.getReturnType())).as(m.toString()).isFalse();
                assertThat(m.getReturnType()).as(m.toString()).isNotEqualTo(MapperChain.class);
                if (DmaMapper.class.isAssignableFrom(m.getReturnType())) {
                    assertThat(m.getReturnType()).as(m.toString() + ": only the interface").isEqualTo(DmaMapper.class);
                }
            }
        }
        try (DmaRuntime rt = runtime(Map.of())) {
            DmaMapper m = rt.mapper("dmatest0");
            assertThat(m.getClass().getName()).isEqualTo("io.dma4j.runtime.ValidatingMapper"); // the chain's head, package-private
            assertThat(m.getClass().getModifiers() & Modifier.PUBLIC).isZero();
        }
    }

    @Test
    void aDriverCannotClaimTheMachineTheRuntimeHolds() {
        try (DmaRuntime rt = runtime(Map.of())) {
            assertThatThrownBy(machine::claimControl).isInstanceOf(IllegalStateException.class)
                    .hasMessage("the control of machine default was claimed already (a DmaRuntime that took this machine holds it)");
            rt.mapper("dmatest0").setMask(0xFFFF_FFFFL); // masks change through the API only
            assertThat(machine.device("dmatest0").dmaMask()).isEqualTo(0xFFFF_FFFFL);
        }
        machine.claimControl(); // given back when the runtime closed
    }

    @Test
    void everyCallOnAClosedRuntimeFailsClearly() {
        DmaRuntime rt = runtime(Map.of());
        DmaMapper m = rt.mapper("dmatest0");
        long page = machine.pageAllocator().allocPages(0);
        m.unmapPhys(m.mapPhys(page, 4096, TO_DEVICE, 0), 4096, TO_DEVICE, 0);
        rt.close();
        assertThatThrownBy(() -> m.mapPhys(page, 4096, TO_DEVICE, 0)).isInstanceOf(IllegalStateException.class)
                .hasMessage("dmatest0: mapPhys: the DmaRuntime of this mapper is closed");
        assertThatThrownBy(m::getMask).isInstanceOf(IllegalStateException.class).hasMessage("dmatest0: getMask: the DmaRuntime of this mapper is closed");
        assertThatThrownBy(() -> rt.mapper("dmatest0")).isInstanceOf(IllegalStateException.class).hasMessage("this DmaRuntime is closed: build a new one");
        rt.close(); // idempotent
    }

    @Test
    void aScatterListWithTwoEntriesOnOnePageLeavesNothingLiveAfterUnmap() {
        try (DmaRuntime rt = runtime(Map.of())) {
            DmaMapper m = rt.mapper("dmatest0");
            long page = machine.pageAllocator().allocPages(0);
            for (int n : new int[] {2, 2000}) {
                ScatterList sg = new ScatterList(n);
                for (int i = 0; i < n; i++) {
                    sg.set(i, page, 64); // every entry aliases one address: dma-direct gives them one DMA address
                }
                int count = m.mapSg(sg, n, TO_DEVICE, 0);
                assertThat(rt.liveMappings("dmatest0")).isEqualTo(count);
                m.unmapSg(sg, n, TO_DEVICE, 0);
                assertThat(rt.liveMappings("dmatest0")).as("%d aliasing entries", n).isZero();
            }
            assertThat(rt.debugReports()).isEmpty();
        }
    }

    private static DmaProvider direct(String name, String spi) {
        return new DmaProvider() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public String spiVersion() {
                return spi;
            }

            @Override
            public Set<DmaRole> roles() {
                return Set.of(DmaRole.MAPPING_BACKEND);
            }

            @Override
            public MappingBackend createBackend(BackendContext context) {
                return new DirectProvider().createBackend(context);
            }
        };
    }

    @Test
    void aProviderBuiltAgainstAnotherSpiIsRefusedAtDiscoveryInOneLine() {
        assertThat(DmaSpi.compatible(DmaSpi.VERSION)).isTrue();
        assertThat(DmaSpi.compatible("2.0")).isTrue();
        assertThat(DmaSpi.compatible("2.1")).isTrue();
        assertThat(DmaSpi.compatible("1.9")).isFalse();
        assertThat(DmaSpi.compatible("2.7")).as("a newer minor version").isFalse();
        assertThat(DmaSpi.compatible("x")).isFalse();
        assertThatThrownBy(() -> DmaRuntime.builder().machine(machine).addProvider(direct("old", "1.3")).build())
                .isInstanceOf(DmaConfigurationException.class)
                .hasMessageMatching("provider io\\.dma4j\\.runtime\\.RuntimeChainTest\\$\\d+ \\(added, io\\.dma4j\\.runtime\\.RuntimeChainTest\\$\\d+\\) "
                        + "was built against dma4j SPI 1\\.3; this runtime has SPI 2\\.1 \\(a provider must have the same major version and no newer minor version\\): "
                        + "rebuild it against dma4j-spi 2\\.1")
                .message().doesNotContain("\n");
        machine.claimControl(); // the failed build gave the machine back
    }

    @Test
    void aBackendWithoutTwoStepSupportAnswersTryAllocWithFalseFromTheRuntime() {
        try (DmaRuntime rt = DmaRuntime.builder().machine(machine).addProvider(direct("plain", DmaSpi.VERSION))
                .config(RuntimeConfig.of(Map.of("dma4j.backend.dmatest1", "plain"))).build()) {
            DmaMapper m = rt.mapper("dmatest1");
            io.dma4j.api.IovaState s = new io.dma4j.api.IovaState();
            assertThat(m.iovaTryAlloc(s, 0, 4096)).isFalse();
            assertThat(rt.statistics("dmatest1").get(io.dma4j.spi.Metrics.IOVA_ALLOC_FALLBACKS)).isEqualTo(1);
        }
    }

    @Test
    void aRuntimeWithoutAnyBackendWarnsOnceAndItsErrorNamesTheArtifacts() {
        DmaRuntime.WARNED_NO_BACKEND.set(false);
        java.io.PrintStream old = System.err;
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            for (int i = 0; i < 2; i++) {
                try (DmaRuntime rt = DmaRuntime.builder().machine(machine).discover(false).build()) {
                    assertThatThrownBy(() -> rt.mapper("dmatest0")).isInstanceOf(DmaConfigurationException.class)
                            .hasMessage("no mapping backend can serve device dmatest0 (mapping backends: (none)): " + DmaRuntime.NO_BACKEND_ADVICE);
                }
            }
        } finally {
            System.setErr(old);
        }
        String err = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(err.lines().toList()).as("one warning for two builds, naming the artifact").containsExactly(
                "dma4j: WARNING: no mapping-backend provider was found; " + DmaRuntime.NO_BACKEND_ADVICE);
        assertThat(DmaRuntime.NO_BACKEND_ADVICE).contains("io.dma4j:dma4j-provider-direct");
    }
}
