package io.dma4j.bench;

import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.platform.Machine;
import io.dma4j.platform.memory.PageAllocator;
import io.dma4j.platform.memory.PhysicalAddressSpace;
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
 * Bounce-buffer cost against the copy it cannot avoid, side by side: {@code bounceMapUnmap}
 * maps a buffer above 4 GiB TO_DEVICE for the 32-bit {@code legacy32} device through the
 * runtime and dma-direct (swiotlb copies it in once) and unmaps it; {@code memcpy} copies
 * the same bytes between the same two memory regions with the platform's copy, into one
 * cache-hot target; {@code memcpyAcross64MiB} copies into a target that walks through
 * 64 MiB the way swiotlb's next-fit cursor walks through its 64 MiB pool, so both touch
 * the same amount of cold memory. Bandwidth = size / time; the target is bounce ≥ 0.9×
 * memcpy from 64 KiB and ~0 B/op.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Dguice_bytecode_gen_option=DISABLED"})
@State(Scope.Thread)
public class SwiotlbBenchmark {
    @Param({"4096", "65536", "262144"})
    public int size;

    private Machine machine;
    private DmaRuntime runtime;
    private DmaMapper mapper;
    private PhysicalAddressSpace cpu;
    private long orig;
    private long lowTarget;
    private final long[] walk = new long[16];
    private long walkOffset;
    private int walkBlock;

    @Setup(Level.Trial)
    public void setUp() {
        machine = Machine.createDefault();
        cpu = machine.addressSpace();
        runtime = DmaRuntime.builder().machine(machine)
                .config(RuntimeConfig.of(Map.of(RuntimeConfig.DEBUG, "false", RuntimeConfig.STATS, "false"))).build();
        mapper = runtime.mapper("legacy32");
        int order = PageAllocator.orderFor(size);
        orig = machine.pageAllocator().allocPages(order, 4L << 30, Long.MAX_VALUE);
        lowTarget = machine.pageAllocator().allocPages(order, 1L << 32);
        cpu.fill(orig, size, (byte) 0x5A);
        cpu.fill(lowTarget, size, (byte) 0x11);
        for (int i = 0; i < walk.length; i++) {
            walk[i] = machine.pageAllocator().allocPages(PageAllocator.MAX_ORDER, 1L << 32);
            cpu.fill(walk[i], PageAllocator.PAGE_SIZE << PageAllocator.MAX_ORDER, (byte) 0x22);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        runtime.close();
        machine.close();
    }

    @Benchmark
    public long bounceMapUnmap() {
        long dma = mapper.mapPhys(orig, size, DmaDirection.TO_DEVICE, DmaAttrs.NONE);
        mapper.unmapPhys(dma, size, DmaDirection.TO_DEVICE, DmaAttrs.NONE);
        return dma;
    }

    @Benchmark
    public long memcpyAcross64MiB() {
        long block = PageAllocator.PAGE_SIZE << PageAllocator.MAX_ORDER;
        if (walkOffset + size > block) {
            walkOffset = 0;
            walkBlock = (walkBlock + 1) & (walk.length - 1);
        }
        long dst = walk[walkBlock] + walkOffset;
        walkOffset += size;
        cpu.copy(orig, dst, size);
        return dst;
    }

    @Benchmark
    public long memcpy() {
        cpu.copy(orig, lowTarget, size);
        return lowTarget;
    }
}
