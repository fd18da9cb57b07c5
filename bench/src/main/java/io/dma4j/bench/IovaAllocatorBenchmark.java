package io.dma4j.bench;

import io.dma4j.provider.iommu.IovaAllocator;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The IOVA allocator alone (4 KiB granule, 36-bit pfn limit), on the op mix the kernel's
 * allocator is usually measured with: one-granule alloc+free, and a window of 256 live
 * ranges where each operation frees the oldest range and allocates a new one. Sizes come
 * from a per-thread xorshift64 generator; the window is filled before timing. Two mixes:
 * {@code cached} draws from {1, 2, 4, 8, 16, 32} granules (the per-thread range caches
 * serve them), {@code tree} from {64, 128, 256} (larger than any cache class: every
 * operation is a tree insert and a tree erase under the domain lock). Average time gives
 * ns per free+alloc on one thread; throughput with one and with two threads sharing the
 * allocator shows how it scales.
 */
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class IovaAllocatorBenchmark {
    private static final long LIMIT = (1L << 36) - 1;
    private static final long[] CACHED = {1, 2, 4, 8, 16, 32};
    private static final long[] TREE = {64, 128, 256};

    /** One allocator shared by the benchmark's threads. */
    @State(Scope.Benchmark)
    public static class Shared {
        final IovaAllocator allocator = new IovaAllocator(12, 1);
    }

    /** A thread's window of live ranges and its size generator. */
    @State(Scope.Thread)
    public static class Window {
        @Param({"cached", "tree"})
        public String mix;

        final long[] pfn = new long[256];
        final long[] size = new long[256];
        long[] sizes;
        long x;
        int next;

        @Setup(Level.Trial)
        public void setUp(Shared s) {
            sizes = mix.equals("tree") ? TREE : CACHED;
            x = 0x9E3779B97F4A7C15L ^ Thread.currentThread().threadId();
            for (int i = 0; i < pfn.length; i++) {
                size[i] = nextSize();
                pfn[i] = s.allocator.allocFast(size[i], LIMIT, true);
            }
        }

        long nextSize() {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            return sizes[(int) Long.remainderUnsigned(x, sizes.length)];
        }

        /** Frees the oldest range, then allocates one in its slot. */
        long step(IovaAllocator a) {
            int i = next++ & 255;
            a.freeFast(pfn[i], size[i]);
            long s = nextSize();
            size[i] = s;
            long p = a.allocFast(s, LIMIT, true);
            pfn[i] = p;
            return p;
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public long alloc1Free1(Shared s) {
        long p = s.allocator.allocFast(1, LIMIT, true);
        s.allocator.freeFast(p, 1);
        return p;
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
