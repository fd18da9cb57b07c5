package io.dma4j.bench;

import io.dma4j.api.DmaDirection;
import io.dma4j.consumers.vfio.DataBuffer;
import io.dma4j.consumers.vfio.Mlx5VfDriver;
import io.dma4j.consumers.vfio.Registration;
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
 * VFIO mlx5 migration data buffers, side by side: registering and unregistering a 1 GiB
 * buffer (262,144 pages, allocated once) for {@code mlx5vf0} behind IOMMU strict, with the
 * two-step path ({@code register_dma_pages} since v6.16: one {@code dma_iova_try_alloc}, each
 * page linked at its offset, one {@code dma_iova_sync}; unregister is one
 * {@code dma_iova_destroy}) against per-page mapping (the same driver with each page mapped by
 * its own {@code dma_map_phys} and unmapped in reverse from the MTT, as its fallback does),
 * with no IOTLB invalidation cost and with 1 µs per invalidation. Each operation also builds
 * the create-mkey command (a 2 MiB MTT in coherent memory) and runs CREATE_MKEY and
 * DESTROY_MKEY on the device, as the driver does. DMA-debug and statistics are off.
 * {@code -prof gc} shows the allocation per operation; the page array itself is allocated
 * once, outside the measurement.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Dguice_bytecode_gen_option=DISABLED", "-Xmx4g"})
@State(Scope.Thread)
public class MigrationRegisterBenchmark {
    /** Pages in the buffer: 1 GiB. */
    static final int PAGES = 262_144;

    /** How the buffer is registered. */
    @Param({"TWO_STEP", "PER_PAGE"})
    public String registration;

    /** Simulated cost of one IOTLB invalidation, ns. */
    @Param({"0", "1000"})
    public long invalidationNs;

    private Machine machine;
    private DmaRuntime runtime;
    private Mlx5VfDriver driver;
    private DataBuffer buffer;

    @Setup(Level.Trial)
    public void setUp() {
        machine = Machine.createDefault();
        runtime = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(Map.of(RuntimeConfig.DEBUG, "false", RuntimeConfig.STATS, "false",
                "dma4j.backend.mlx5vf0", "iommu", "dma4j.iommu.mode", "strict", "dma4j.iommu.invalidationNs", Long.toString(invalidationNs)))).build();
        driver = new Mlx5VfDriver(runtime.mapper("mlx5vf0"), machine.addressSpace(), machine.pageAllocator(), Registration.valueOf(registration));
        buffer = driver.allocDataBuffer(PAGES, null);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        driver.freeDataBuffer(buffer);
        driver.close();
        runtime.close();
        machine.close();
    }

    /** Register (MTT, DMA mapping, CREATE_MKEY) and unregister (DESTROY_MKEY, DMA, MTT) the 1 GiB buffer. */
    @Benchmark
    public int registerUnregister() {
        driver.dmaMap(buffer, DmaDirection.FROM_DEVICE);
        int key = buffer.mkey();
        driver.dmaUnmap(buffer);
        return key;
    }
}
