package io.dma4j.consumers.rdma;

import io.dma4j.consumers.mm.HmmDmaMap;
import io.dma4j.consumers.mm.ProcessMemory;
import io.dma4j.devices.rnic.RnicModel;
import io.dma4j.platform.Machine;
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

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * The fault-injection walk over RDMA on-demand paging: register a 16-page ODP region, an
 * RDMA WRITE and an RDMA READ that fault their pages in, an invalidation, close — on
 * dma-direct and IOMMU strict and lazy, both HMM designs. Counted points: page, IOVA,
 * page-table and coherent allocations and device commands. After every run: the failure is
 * an exception the driver documents or a completion in error; the bytes of a successful
 * WRITE are at the remote peer and those of a successful READ in the process; after the
 * region is closed and unmapped nothing is left (mappings, pages, IOVA granules in use,
 * DMA-debug silent), and the NIC serves the next run.
 */
class OdpFaultWalkTest {
    private static final Set<Point> POINTS = EnumSet.of(Point.PAGE_ALLOC, Point.IOVA_ALLOC, Point.PGTABLE_ALLOC, Point.COHERENT_ALLOC, Point.DEVICE_COMMAND);
    private static final long PAGE = ProcessMemory.PAGE_SIZE;
    private static final AtomicLong CASES = new AtomicLong();
    private final ManualClock clock = new ManualClock();
    private Machine machine;
    private DmaRuntime rt;
    private RnicDriver nic;
    private ProcessMemory mm;

    static Stream<Arguments> setups() {
        return Stream.of("direct", "strict", "lazy").flatMap(b -> Stream.of(Arguments.of(b, HmmDmaMap.Design.TWO_STEP), Arguments.of(b, HmmDmaMap.Design.CLASSIC)));
    }

    @AfterEach
    void tearDown() {
        machine.faultInjector().reset();
        nic.close();
        mm.close();
        rt.close();
        machine.close();
    }

    @AfterAll
    static void report() {
        System.out.println("OdpFaultWalkTest: " + CASES.get() + " (backend, design, N) cases");
    }

    private Map<String, Long> figures() {
        clock.advance(TimeUnit.SECONDS.toNanos(1));
        return Leaks.figures(rt, machine, "rnic0");
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("setups")
    void registerFaultInInvalidateAndClosePassTheWalk(String backend, HmmDmaMap.Design design) {
        Map<String, String> cfg = new LinkedHashMap<>();
        cfg.put("dma4j.backend.rnic0", backend.equals("direct") ? "direct" : "iommu");
        if (!backend.equals("direct")) {
            cfg.put("dma4j.iommu.mode", backend);
        }
        machine = Machine.createDefault();
        rt = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(cfg)).clock(clock).build();
        nic = new RnicDriver(rt.mapper("rnic0"), machine.addressSpace());
        mm = new ProcessMemory(machine.addressSpace(), machine.pageAllocator());
        RnicModel model = (RnicModel) machine.device("rnic0").behaviour();
        FaultInjector fi = machine.faultInjector();
        byte[] out = new byte[8 * (int) PAGE];
        new SplittableRandom(1).nextBytes(out);
        byte[] in = new byte[4 * (int) PAGE];
        new SplittableRandom(2).nextBytes(in);
        MemorySegment.copy(MemorySegment.ofArray(in), 0, model.remoteMemory(), 1 << 20, in.length);
        run(fi, model, design, out, in, 0); // warm-up
        Map<String, Long> baseline = figures();
        int errors = 0;
        for (int n = 1; ; n++) {
            assertThat(n).as("the walk ends").isLessThan(5_000);
            Outcome o = run(fi, model, design, out, in, n);
            CASES.incrementAndGet();
            if (o.error() != null) {
                errors++;
            }
            assertThat(figures()).as("%s %s, N = %d", backend, design, n).isEqualTo(baseline);
            if (!o.reached()) {
                assertThat(o.error()).as("N = %d was not reached: the flow must succeed", n).isNull();
                assertThat(errors).as("injected faults surfaced as errors").isPositive();
                return;
            }
        }
    }

    /** How a run ended: whether fail-nth fired, and the error it ended in (null: success). */
    private record Outcome(boolean reached, String error) {
    }

    /** One run with fail-nth armed at {@code n} (0: not armed); the clean-up runs disarmed. */
    private Outcome run(FaultInjector fi, RnicModel model, HmmDmaMap.Design design, byte[] out, byte[] in, int n) {
        long va = mm.mmap(16 * PAGE, true, false);
        mm.write(va, out);
        OdpMr mr = null;
        String error = null;
        if (n > 0) {
            fi.setFailNth(n, POINTS);
        }
        try {
            mr = nic.registerOdp(mm, va, 16 * PAGE, true, design, clock::nanoTime);
            RnicDriver.Completion w = nic.rdmaWrite(mr, va, 0, out.length, 1);
            if (w.ok()) {
                assertThat(model.remoteMemory().asSlice(0, out.length).toArray(ValueLayout.JAVA_BYTE)).as("N = %d: written bytes", n).isEqualTo(out);
                RnicDriver.Completion r = nic.rdmaRead(mr, va + 8 * PAGE, 1 << 20, in.length, 2);
                if (r.ok()) {
                    assertThat(mm.read(va + 8 * PAGE, in.length)).as("N = %d: read bytes", n).isEqualTo(in);
                    mm.mprotect(va, 16 * PAGE, true); // an invalidation of the whole region
                } else {
                    error = r.toString();
                }
            } else {
                error = w.toString();
            }
        } catch (io.dma4j.api.DmaMappingException | IllegalStateException | io.dma4j.platform.memory.PageAllocationException e) {
            error = e.toString();
        } catch (RuntimeException e) {
            fail("N = %d: not a clean error: %s", n, e);
        }
        boolean reached = n > 0 && fi.failNth() == 0;
        fi.setFailNth(0);
        if (mr != null) {
            mr.close();
        }
        mm.munmap(va, 16 * PAGE);
        return new Outcome(reached, error);
    }
}
