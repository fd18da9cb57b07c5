package io.dma4j.bench;

import io.dma4j.provider.iommu.IovaAllocator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The IOVA allocator alone (4 KiB granule, 48-bit limit): one-granule alloc+free, and a
 * window of 256 live ranges of random 1..32 granules where each operation frees the oldest
 * and allocates a new one. Throughput with one thread and with two threads sharing the
 * allocator shows how it scales; average time shows ns per alloc+free.
 */
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class IovaAllocatorBenchmark {
    private static final long LIMIT = (1L << 36) - 1;

    /** One allocator shared by the benchmark's threads. */
    @State(Scope.Benchmark)
    public static class Shared {
        final IovaAllocator allocator = new IovaAllocator(12, 1);
    }

    /** A thread's window of live ranges. */
    @State(Scope.Thread)
    public static class Window {
        final long[] pfn = new long[256];
        final long[] size = new long[256];
        final long[] sizes = new long[4096];
        int next;
        int sizeAt;

        @Setup(Level.Trial)
        public void setUp(Shared s) {
            SplittableRandom rnd = new SplittableRandom(Thread.currentThread().threadId());
            for (int i = 0; i < sizes.length; i++) {
                sizes[i] = 1 + rnd.nextInt(32);
            }
            for (int i = 0; i < pfn.length; i++) {
                size[i] = sizes[sizeAt++ & 4095];
                pfn[i] = s.allocator.allocFast(size[i], LIMIT, true);
            }
        }

        long step(IovaAllocator a) {
            int i = next++ & 255;
            a.freeFast(pfn[i], size[i]);
            long s = sizes[sizeAt++ & 4095];
            size[i] = s;
            pfn[i] = a.allocFast(s, LIMIT, true);
            return pfn[i];
        }
    }

    private static long one(IovaAllocator a) {
        long p = a.allocFast(1, LIMIT, true);
        a.freeFast(p, 1);
        return p;
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public long alloc1Free1(Shared s) {
        return one(s.allocator);
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public long window256(Shared s, Window w) {
        return w.step(s.allocator);
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    @Threads(1)
    public long window256Throughput1Thread(Shared s, Window w) {
        return w.step(s.allocator);
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    @Threads(2)
    public long window256Throughput2Threads(Shared s, Window w) {
        return w.step(s.allocator);
    }
}
