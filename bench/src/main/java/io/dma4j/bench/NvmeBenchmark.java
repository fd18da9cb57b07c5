package io.dma4j.bench;

import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.consumers.block.BlockDmaIterator;
import io.dma4j.consumers.nvme.NvmeDriver;
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
 * NVMe requests behind the IOMMU (nvme0, lazy mode), side by side: the block DMA
 * iterator's map+unmap of one request as a scatter list (the pre-6.17 path) and with the
 * two-step calls; and a whole write request (mapping, PRPs/SGL, doorbell, the controller
 * moving the data, completion, unmap) for context. Pages of a request are not physically
 * contiguous.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Dguice_bytecode_gen_option=DISABLED"})
@State(Scope.Thread)
public class NvmeBenchmark {
    @Param({"4096", "131072"})
    public int size;

    @Param({"scatterlist", "two-step"})
    public String api;

    private Machine machine;
    private DmaRuntime runtime;
    private DmaMapper mapper;
    private BlockDmaIterator iter;
    private NvmeDriver nvme;
    private long[] phys;
    private long[] len;
    private int pages;

    @Setup(Level.Trial)
    public void setUp() {
        machine = Machine.createDefault();
        runtime = DmaRuntime.builder().machine(machine)
                .config(RuntimeConfig.of(Map.of(RuntimeConfig.DEBUG, "false", RuntimeConfig.STATS, "false"))).build();
        mapper = runtime.mapper("nvme0");
        pages = size / 4096;
        phys = new long[pages];
        len = new long[pages];
        for (int i = 0; i < pages; i++) {
            phys[i] = machine.pageAllocator().allocPages(0);
            machine.pageAllocator().allocPages(0);
            len[i] = 4096;
        }
        iter = new BlockDmaIterator(256);
        iter.setScatterList(api.equals("scatterlist"));
        nvme = new NvmeDriver(mapper, machine.addressSpace());
        nvme.setScatterList(api.equals("scatterlist"));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        runtime.close();
        machine.close();
    }

    @Benchmark
    public long mapRequest() {
        int n = iter.map(mapper, phys, len, pages, DmaDirection.TO_DEVICE);
        long first = iter.dmaAddress(0) + n + iter.bookkeepingBytes();
        iter.unmap(mapper, DmaDirection.TO_DEVICE);
        return first;
    }

    @Benchmark
    public int writeRequest() {
        return nvme.write(0, phys, len, pages);
    }
}
