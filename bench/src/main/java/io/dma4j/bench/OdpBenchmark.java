package io.dma4j.bench;

import io.dma4j.consumers.mm.HmmDmaMap;
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
    /** The HMM DMA design. */
    @Param({"TWO_STEP", "CLASSIC"})
    public String design;

    /** Simulated cost of one IOTLB invalidation, ns. */
    @Param({"0", "1000"})
    public long invalidationNs;

    private OdpRig rig;

    @Setup(Level.Trial)
    public void setUp() {
        rig = new OdpRig(HmmDmaMap.Design.valueOf(design), invalidationNs);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        rig.close();
    }

    /**
     * Fault-in, then invalidation, of the whole region: 512 pages each way. The halves need
     * each other's result as their starting state, and a per-invocation setup distorts
     * operations this short, so the pair is measured together; {@code OdpHalvesBenchmark}
     * times each half alone in single-shot mode.
     */
    @Benchmark
    public long cycle() {
        rig.faultIn();
        return rig.invalidate();
    }
}
