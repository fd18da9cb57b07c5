package io.dma4j.provider.swiotlb;

import io.dma4j.platform.Machine;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.spi.BounceService;
import io.dma4j.spi.ProviderSettings;
import io.dma4j.spi.RoleContext;
import io.dma4j.runtime.testing.Gauges;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static io.dma4j.api.DmaDirection.FROM_DEVICE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two threads, 100,000 bounce mappings in one area of a small pool, each thread keeping
 * 16 alive at once: 12 short-lived and 4 that live for hundreds of mappings, so the
 * area's next-fit cursor keeps passing over live runs. Every bounce buffer must hold
 * exactly its original's bytes at map time, and every original must get exactly what was
 * written into its bounce buffer at unmap: two runs sharing slots would corrupt each
 * other and show up here.
 */
class SwiotlbStressTest {
    private static final int PER_THREAD = 50_000;
    private static final int LIVE = 16;
    private static final int LONG_LIVED = 4;
    private static final int MAX = 16 * 1024;

    @Test
    void twoThreadsOfMappingsNeverShareSlots() throws Exception {
        try (Machine machine = Machine.createDefault()) {
            // the bounce service built through the SPI, as the runtime would build it
            BounceService b = new SwiotlbProvider().createBounceService(new RoleContext(machine, new ProviderSettings(Map.of("size", "2MiB", "areas", "1"))));
            Device dev = machine.device("legacy32");
            ExecutorService pool = Executors.newFixedThreadPool(2);
            Future<?> f1 = pool.submit(() -> run(machine, b, dev, 1));
            Future<?> f2 = pool.submit(() -> run(machine, b, dev, 2));
            f1.get();
            f2.get();
            pool.shutdown();
            assertThat(Gauges.of(b)).containsEntry("slots.used", 0L).containsEntry("mappings", 2L * PER_THREAD).containsEntry("full", 0L);
        }
    }

    private static void run(Machine machine, BounceService b, Device dev, long seed) {
        PhysicalAddressSpace cpu = machine.addressSpace();
        SplittableRandom rnd = new SplittableRandom(seed);
        long[] orig = new long[LIVE];
        long[] tlb = new long[LIVE];
        int[] len = new int[LIVE];
        long[] written = new long[LIVE];
        for (int i = 0; i < LIVE; i++) {
            orig[i] = machine.pageAllocator().allocPages(3, 4L << 30, Long.MAX_VALUE) + rnd.nextInt(4096);
        }
        boolean[] live = new boolean[LIVE];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pattern = arena.allocate(MAX);
            MemorySegment check = arena.allocate(MAX);
            for (int n = 0; n < PER_THREAD + LIVE; n++) {
                boolean draining = n >= PER_THREAD;
                int k = draining ? n - PER_THREAD
                        : rnd.nextInt(200) == 0 ? rnd.nextInt(LONG_LIVED) : LONG_LIVED + rnd.nextInt(LIVE - LONG_LIVED);
                if (live[k]) { // retire: the original must now hold what was written to the bounce buffer
                    b.unmap(dev, tlb[k], len[k], FROM_DEVICE, 0);
                    live[k] = false;
                    fill(pattern, len[k], written[k]);
                    cpu.read(orig[k], check, 0, len[k]);
                    assertThat(check.asSlice(0, len[k]).mismatch(pattern.asSlice(0, len[k]))).as("original after unmap").isEqualTo(-1);
                }
                if (draining) {
                    continue;
                }
                len[k] = 1 + rnd.nextInt(MAX);
                long before = rnd.nextLong();
                fill(pattern, len[k], before);
                cpu.write(orig[k], pattern, 0, len[k]);
                tlb[k] = b.map(dev, orig[k], len[k], 0, 0, FROM_DEVICE, 0);
                live[k] = true;
                cpu.read(tlb[k], check, 0, len[k]);
                assertThat(check.asSlice(0, len[k]).mismatch(pattern.asSlice(0, len[k]))).as("bounce copy at map").isEqualTo(-1);
                written[k] = rnd.nextLong();
                fill(pattern, len[k], written[k]);
                cpu.write(tlb[k], pattern, 0, len[k]); // what "the device" writes
            }
        }
    }

    private static void fill(MemorySegment seg, int len, long seed) {
        long x = seed;
        int i = 0;
        for (; i + 8 <= len; i += 8) {
            x = x * 6364136223846793005L + 1442695040888963407L;
            seg.set(ValueLayout.JAVA_LONG_UNALIGNED, i, x);
        }
        for (; i < len; i++) {
            seg.set(ValueLayout.JAVA_BYTE, i, (byte) (seed + i));
        }
    }
}
