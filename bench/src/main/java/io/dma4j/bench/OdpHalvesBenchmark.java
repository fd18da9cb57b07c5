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
 * The two halves of {@link OdpBenchmark}'s cycle timed alone (single shot, the other half as
 * per-iteration setup). RDMA ODP over IOMMU strict, side by side: fault-in of a 2 MiB region (512 pages: the
 * umem_odp fault loop, {@code hmm_range_fault}, one map per page, the NIC's translation
 * written) and its invalidation (an {@code mprotect} of the whole range that keeps it writable:
 * a {@code PROTECTION_VMA} event, so the NIC's entries are zapped and each page is unlinked or
 * unmapped, while the CPU page tables stay as they are and the next fault-in is the DMA side only), in the two-step design (one IOVA reservation, link/unlink) against the
 * classic per-page {@code dma_map_page} design, with no invalidation cost and with 1 µs per
 * IOTLB invalidation. The CPU pages are populated once, so the figures are the DMA side of a
 * fault. {@code -prof gc} shows the allocation per operation.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2000, batchSize = 1)
@Measurement(iterations = 2000, batchSize = 1)
@Fork(value = 1, jvmArgsAppend = {"-Dguice_bytecode_gen_option=DISABLED"})
@State(Scope.Thread)
public class OdpHalvesBenchmark {
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
     * Before each single-shot iteration: the region unmapped (invalidated) for
     * {@link #faultIn}, mapped for {@link #invalidate}. (A helper state that takes this class
     * as a parameter gets its own instance, so the setup lives here and asks which benchmark
     * runs.)
     */
    @Setup(Level.Iteration)
    public void prepare(org.openjdk.jmh.infra.BenchmarkParams params) {
        if (params.getBenchmark().endsWith("faultIn")) {
            rig.invalidate();
        } else {
            rig.faultIn();
        }
    }

    /** Fault-in of 512 pages, one per iteration. */
    @Benchmark
    public int faultIn() {
        return rig.faultIn();
    }

    /** Invalidation of 512 mapped pages, one per iteration. */
    @Benchmark
    public long invalidate() {
        return rig.invalidate();
    }
}
