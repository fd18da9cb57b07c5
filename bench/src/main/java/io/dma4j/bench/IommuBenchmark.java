package io.dma4j.bench;

import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.IovaState;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.Machine;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * dma-iommu through the runtime (debug and statistics off), side by side in one run:
 * a 4 KiB map+unmap in strict and lazy mode, and a 32-page request (pages not physically
 * contiguous) as a classic scatter list, as the two-step calls, and page by page with
 * mapPhys (what a driver does when it has neither). {@code faults} compares the fault-injection
 * hooks off and armed for another device.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Dguice_bytecode_gen_option=DISABLED"})
@State(Scope.Thread)
public class IommuBenchmark {
    private static final int PAGES = 32;

    @Param({"strict", "lazy"})
    public String mode;

    /** Simulated hardware invalidation cost (dma4j.iommu.invalidationNs); try -p invalidationNs=0,1000. */
    @Param({"0"})
    public String invalidationNs;

    /**
     * Fault injection: {@code off} (every point off: one volatile read per call site), or
     * {@code elsewhere} (iova_alloc armed at 100 % for another device, so every map runs the
     * whole decision and never fails): the cost of the hooks, side by side.
     */
    @Param({"off", "elsewhere"})
    public String faults;

    private Machine machine;
    private DmaRuntime runtime;
    private DmaMapper mapper;
    private long page;
    private final long[] request = new long[PAGES];
    private final long[] perPage = new long[PAGES];
    private final ScatterList sg = new ScatterList(PAGES);
    private final IovaState state = new IovaState();

    @Setup(Level.Trial)
    public void setUp() {
        machine = Machine.createDefault();
        runtime = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(Map.of(RuntimeConfig.DEBUG, "false",
                RuntimeConfig.STATS, "false", "dma4j.iommu.mode", mode, "dma4j.iommu.invalidationNs", invalidationNs))).build();
        mapper = runtime.mapper("dmatest1");
        if (faults.equals("elsewhere")) {
            machine.faultInjector().point(io.dma4j.platform.fault.FaultInjector.Point.IOVA_ALLOC).probability(100).device("nvme0");
        }
        page = machine.pageAllocator().allocPages(0);
        for (int i = 0; i < PAGES; i++) {
            request[i] = machine.pageAllocator().allocPages(0);
            machine.pageAllocator().allocPages(0); // a gap: the pages are not physically contiguous
            sg.set(i, request[i], 4096);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        runtime.close();
        machine.close();
    }

    @Benchmark
    public long map4k() {
        long dma = mapper.mapPhys(page, 4096, DmaDirection.BIDIRECTIONAL, DmaAttrs.NONE);
        mapper.unmapPhys(dma, 4096, DmaDirection.BIDIRECTIONAL, DmaAttrs.NONE);
        return dma;
    }

    @Benchmark
    public long request32Classic() {
        int n = mapper.mapSg(sg, PAGES, DmaDirection.TO_DEVICE, DmaAttrs.NONE);
        long first = sg.dmaAddress(0);
        mapper.unmapSg(sg, PAGES, DmaDirection.TO_DEVICE, DmaAttrs.NONE);
        return first + n;
    }

    @Benchmark
    public long request32PerPage() {
        long sum = 0;
        for (int i = 0; i < PAGES; i++) {
            long dma = mapper.mapPhys(request[i], 4096, DmaDirection.TO_DEVICE, DmaAttrs.NONE);
            perPage[i] = dma;
            sum += dma;
        }
        for (int i = 0; i < PAGES; i++) {
            mapper.unmapPhys(perPage[i], 4096, DmaDirection.TO_DEVICE, DmaAttrs.NONE);
        }
        return sum;
    }

    @Benchmark
    public long request32TwoStep() {
        if (!mapper.iovaTryAlloc(state, request[0], PAGES * 4096L)) {
            throw new IllegalStateException("no IOVA");
        }
        for (int i = 0; i < PAGES; i++) {
            mapper.iovaLink(state, request[i], i * 4096L, 4096, DmaDirection.TO_DEVICE, DmaAttrs.NONE);
        }
        mapper.iovaSync(state, 0, PAGES * 4096L);
        long addr = state.addr();
        mapper.iovaDestroy(state, PAGES * 4096L, DmaDirection.TO_DEVICE, DmaAttrs.NONE);
        return addr;
    }
}
