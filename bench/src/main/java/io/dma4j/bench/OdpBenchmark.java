package io.dma4j.bench;

import io.dma4j.consumers.mm.HmmDmaMap;
import io.dma4j.consumers.mm.ProcessMemory;
import io.dma4j.consumers.rdma.OdpMr;
import io.dma4j.consumers.rdma.RnicDriver;
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
 * RDMA ODP over IOMMU strict, side by side: fault-in of a 2 MiB region (512 pages: the
 * umem_odp fault loop, {@code hmm_range_fault}, one map per page, the NIC's translation
 * written) and its invalidation (an {@code mprotect} of the whole range that keeps it writable:
 * a {@code PROTECTION_VMA} event, so the NIC's entries are zapped and each page is unlinked or
 * unmapped, while the CPU page tables stay as they are and the next fault-in is the DMA side only), in the two-step design (one IOVA reservation, link/unlink) against the
 * classic per-page {@code dma_map_page} design, with no invalidation cost and with 1 µs per
 * IOTLB invalidation. The CPU pages are populated once, so the figures are the DMA side of a
 * fault. {@code -prof gc} shows the allocation per operation.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Dguice_bytecode_gen_option=DISABLED"})
@State(Scope.Thread)
public class OdpBenchmark {
    private static final long REGION = 2L << 20;

    /** The HMM DMA design. */
    @Param({"TWO_STEP", "CLASSIC"})
    public String design;

    /** Simulated cost of one IOTLB invalidation, ns. */
    @Param({"0", "1000"})
    public long invalidationNs;

    private Machine machine;
    private DmaRuntime runtime;
    private RnicDriver nic;
    private ProcessMemory mm;
    private OdpMr mr;
    private long va;

    @Setup(Level.Trial)
    public void setUp() {
        machine = Machine.createDefault();
        runtime = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(Map.of(RuntimeConfig.DEBUG, "false", RuntimeConfig.STATS, "false",
                "dma4j.backend.rnic0", "iommu", "dma4j.iommu.mode", "strict", "dma4j.iommu.invalidationNs", Long.toString(invalidationNs)))).build();
        nic = new RnicDriver(runtime.mapper("rnic0"), machine.addressSpace());
        mm = new ProcessMemory(machine.addressSpace(), machine.pageAllocator());
        va = mm.mmap(REGION, true, false);
        for (long p = 0; p < REGION; p += ProcessMemory.PAGE_SIZE) {
            mm.write(va + p, new byte[] {1});
        }
        mr = nic.registerOdp(mm, va, REGION, true, HmmDmaMap.Design.valueOf(design), System::nanoTime);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        mr.close();
        nic.close();
        mm.close();
        runtime.close();
        machine.close();
    }

    /**
     * Fault-in, then invalidation, of the whole region: 512 pages each way. The halves need
     * each other's result as their starting state, and a per-invocation setup distorts
     * operations this short, so the pair is measured together; {@code OdpHalvesBenchmark}
     * times each half alone in single-shot mode.
     */
    @Benchmark
    public long cycle() {
        mr.prefetch(va, REGION, true);
        mm.mprotect(va, REGION, true);
        return mm.invalidations();
    }
}
