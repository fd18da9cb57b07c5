package io.dma4j.consumers.vfio;

import io.dma4j.devices.mlx5vf.Mlx5VfModel;
import io.dma4j.platform.Machine;
import io.dma4j.platform.description.MachineDescriptionParser;
import io.dma4j.platform.fault.FaultInjector;
import io.dma4j.platform.fault.FaultInjector.Point;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;
import io.dma4j.runtime.testing.Leaks;
import io.dma4j.spi.ManualClock;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static io.dma4j.consumers.vfio.MigrationState.RESUMING;
import static io.dma4j.consumers.vfio.MigrationState.RUNNING;
import static io.dma4j.consumers.vfio.MigrationState.STOP;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fault-injection walk over a VFIO mlx5 stop-copy migration (save on {@code mlx5vf0},
 * resume on {@code mlx5vf1}) on dma-direct and IOMMU strict and lazy, both registrations:
 * call N fails, for N = 1, 2, ... until the migration no longer reaches the fault. Counted
 * points: page, IOVA, page-table and coherent allocations and device commands (DMA transfers
 * are left out: the VF moves its image page by page, and the NVMe walk covers the port). After
 * every run the failure is a {@link VfioMigrationException} with an errno, the destination's
 * state is either untouched or the source's in full (LOAD checks the whole image first),
 * and after a device reset nothing is left: no live mapping, pages, IOVA granules in use,
 * DMA-debug silent.
 */
class MigrationFaultWalkTest {
    private static final Set<Point> POINTS = EnumSet.of(Point.PAGE_ALLOC, Point.IOVA_ALLOC, Point.PGTABLE_ALLOC, Point.COHERENT_ALLOC, Point.DEVICE_COMMAND);
    private static final AtomicLong CASES = new AtomicLong();
    private final ManualClock clock = new ManualClock();
    private Machine machine;
    private DmaRuntime rt;
    private Mlx5VfDriver src;
    private Mlx5VfDriver dst;

    static Stream<Arguments> setups() {
        return Stream.of("direct", "strict", "lazy").flatMap(b -> Stream.of(Arguments.of(b, Registration.TWO_STEP), Arguments.of(b, Registration.CLASSIC)));
    }

    /** The built-in machine with 64 KiB VF states, so that each run is short. */
    private static Machine smallStateMachine() throws IOException {
        try (InputStream in = Machine.class.getResourceAsStream("/io/dma4j/platform/description/default-machine.json")) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8)
                    .replace("\"model\": \"mlx5-vf\",", "\"model\": \"mlx5-vf\", \"modelOptions\": {\"stateSize\": \"64KiB\"},");
            return Machine.create(MachineDescriptionParser.parse(text, "default-machine.json (64 KiB VF states)"));
        }
    }

    @AfterEach
    void tearDown() {
        machine.faultInjector().reset();
        src.close();
        dst.close();
        rt.close();
        machine.close();
    }

    @AfterAll
    static void report() {
        System.out.println("MigrationFaultWalkTest: " + CASES.get() + " (backend, registration, N) cases");
    }

    private Map<String, Long> figures() {
        clock.advance(TimeUnit.SECONDS.toNanos(1)); // flush-queue timeouts have passed
        return Leaks.figures(rt, machine, "mlx5vf0", "mlx5vf1");
    }

    private static void migrate(Mlx5VfMigration ms, Mlx5VfMigration md) {
        byte[] stream = Mlx5VfMigrationTest.save(ms);
        try (Arena a = Arena.ofConfined()) {
            ResumeStream in = (ResumeStream) md.setState(RESUMING);
            MemorySegment s = a.allocate(stream.length);
            MemorySegment.copy(stream, 0, s, ValueLayout.JAVA_BYTE, 0, stream.length);
            in.write(s, 0, stream.length);
            md.setState(STOP);
            ms.setState(STOP);
        }
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("setups")
    void aStopCopyMigrationPassesTheWalk(String backend, Registration registration) throws IOException {
        Map<String, String> cfg = new LinkedHashMap<>();
        for (String dev : List.of("mlx5vf0", "mlx5vf1")) {
            cfg.put("dma4j.backend." + dev, backend.equals("direct") ? "direct" : "iommu");
        }
        if (!backend.equals("direct")) {
            cfg.put("dma4j.iommu.mode", backend);
        }
        machine = smallStateMachine();
        rt = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(cfg)).clock(clock).build();
        src = new Mlx5VfDriver(rt.mapper("mlx5vf0"), machine.addressSpace(), machine.pageAllocator(), registration);
        dst = new Mlx5VfDriver(rt.mapper("mlx5vf1"), machine.addressSpace(), machine.pageAllocator(), registration);
        Mlx5VfModel srcModel = (Mlx5VfModel) machine.device("mlx5vf0").behaviour();
        Mlx5VfModel dstModel = (Mlx5VfModel) machine.device("mlx5vf1").behaviour();
        assertThat(srcModel.stateSize()).isEqualTo(64 * 1024);
        FaultInjector fi = machine.faultInjector();
        Mlx5VfMigration ms = new Mlx5VfMigration(src);
        Mlx5VfMigration md = new Mlx5VfMigration(dst);
        migrate(ms, md); // warm-up: caches and the first IOVA tables
        ms.reset();
        md.reset();
        Map<String, Long> baseline = figures();
        int errors = 0;
        for (int n = 1; ; n++) {
            assertThat(n).as("the walk ends").isLessThan(5_000);
            byte[] before = dstModel.stateSnapshot();
            fi.setFailNth(n, POINTS);
            VfioMigrationException error = null;
            try {
                migrate(ms, md);
            } catch (VfioMigrationException e) {
                error = e;
            }
            boolean reached = fi.failNth() == 0;
            fi.setFailNth(0);
            CASES.incrementAndGet();
            String what = String.format("%s %s, N = %d (%s)", backend, registration, n, error == null ? "completed" : error.getMessage());
            byte[] after = dstModel.stateSnapshot();
            if (error == null) {
                assertThat(after).as("%s: the destination holds the source's state", what).isEqualTo(srcModel.stateSnapshot());
            } else {
                errors++;
                assertThat(error.errno()).as(what).matches("E[A-Z]+");
                assertThat(Arrays.equals(after, before) || Arrays.equals(after, srcModel.stateSnapshot()))
                        .as("%s: the destination is untouched or loaded in full", what).isTrue();
            }
            ms.reset();
            md.reset();
            assertThat(ms.state()).isEqualTo(RUNNING);
            assertThat(figures()).as(what).isEqualTo(baseline);
            if (!reached) {
                assertThat(error).as("%s: the fault was not reached, so the migration must complete", what).isNull();
                assertThat(errors).as("injected faults surfaced as errors").isPositive();
                break;
            }
        }
        ms.close();
        md.close();
    }
}
