package io.dma4j.bench;

import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.platform.Machine;
import io.dma4j.platform.device.Device;
import io.dma4j.provider.direct.DirectProvider;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.MapperChain;
import io.dma4j.spi.BackendContext;
import io.dma4j.spi.MappingBackend;
import io.dma4j.spi.ProviderSettings;
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
 * dma-direct map+unmap of one 4 KiB page, side by side: the backend called directly, and
 * through the runtime's dispatch with statistics and DMA-debug off, statistics on, debug
 * on, and the JFR layer on with no recording running ({@code dma4j.jfr=true}: each call
 * creates an event object that must not escape). All but debug should allocate nothing
 * ({@code -prof gc}); debug tracking allocates by design.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Dguice_bytecode_gen_option=DISABLED"})
@State(Scope.Thread)
public class DirectMapBenchmark {
    /** What sits between the caller and dma-direct. */
    @Param({"backend", "runtime", "runtime+stats", "runtime+debug", "runtime+jfr"})
    public String path;

    private Machine machine;
    private DmaRuntime runtime;
    private MappingBackend backend;
    private DmaMapper mapper;
    private long page;

    @Setup(Level.Trial)
    public void setUp() {
        machine = Machine.createDefault();
        page = machine.pageAllocator().allocPages(0);
        if (path.equals("backend")) {
            // the backend built through the SPI, behind the runtime's generic layer only (no validation, debug or statistics)
            Device.Control control = machine.claimControl().device("dmatest0");
            backend = new DirectProvider().createBackend(new BackendContext(machine, control, null, null, ProviderSettings.EMPTY));
            mapper = MapperChain.bare(machine, control, null, backend);
            return;
        }
        boolean stats = path.equals("runtime+stats");
        boolean debug = path.equals("runtime+debug");
        boolean jfr = path.equals("runtime+jfr");
        runtime = DmaRuntime.builder().machine(machine)
                .config(RuntimeConfig.of(Map.of(RuntimeConfig.DEBUG, Boolean.toString(debug), RuntimeConfig.STATS, Boolean.toString(stats),
                        RuntimeConfig.JFR, Boolean.toString(jfr))))
                .build();
        mapper = runtime.mapper("dmatest0");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (runtime != null) {
            runtime.close();
        } else {
            backend.release();
        }
        machine.close();
    }

    @Benchmark
    public long mapUnmap4k() {
        long dma = mapper.mapPhys(page, 4096, DmaDirection.BIDIRECTIONAL, DmaAttrs.NONE);
        mapper.unmapPhys(dma, 4096, DmaDirection.BIDIRECTIONAL, DmaAttrs.NONE);
        return dma;
    }
}
