package io.dma4j.stress;

import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.IovaState;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.Machine;
import io.dma4j.platform.device.CopyEngine;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;
import io.dma4j.runtime.testing.Bytes;
import io.dma4j.spi.ManualClock;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two threads share one device's mapper with mixed operations (single mappings, scatter
 * lists, two-step ranges) over IOMMU strict, IOMMU lazy and swiotlb. Each thread keeps up to
 * eight source mappings live while it copies through them with the copy engine and checks
 * every byte. After each phase both threads stop at a barrier and the test checks that no
 * bus address is live twice; at the end everything is released and the mapping, IOVA and
 * bounce counters are back at zero with DMA-debug silent. Bounded for CI; a longer run:
 * {@code -Ddma4j.stress.rounds=200000} on the Maven command line.
 */
class ConcurrencyStressTest {
    private static final int THREADS = 2;
    private static final int PHASES = 4;
    private static final int ROUNDS = Integer.getInteger("dma4j.stress.rounds", 3000) / PHASES;

    /** A live source mapping: its bus range and how to release it. */
    private record Live(long dma, long size, long phys, long seed, String kind, Object handle) {
    }

    @ParameterizedTest
    @ValueSource(strings = {"strict", "lazy", "swiotlb"})
    void twoThreadsKeepEveryByteAndNoAddressIsLiveTwice(String backend) throws Exception {
        ManualClock clock = new ManualClock();
        String dev = backend.equals("swiotlb") ? "legacy32" : "dmatest1";
        Map<String, String> cfg = backend.equals("swiotlb") ? Map.of() : Map.of("dma4j.backend.dmatest1", "iommu", "dma4j.iommu.mode", backend);
        try (Machine machine = Machine.createDefault();
             DmaRuntime rt = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(cfg)).clock(clock).build()) {
            DmaMapper m = rt.mapper(dev);
            PhysicalAddressSpace cpu = machine.addressSpace();
            long lo = backend.equals("swiotlb") ? 4L << 30 : 0; // above 4 GiB, so that every mapping bounces
            CyclicBarrier barrier = new CyclicBarrier(THREADS + 1);
            List<ConcurrentLinkedQueue<Live>> lives = new ArrayList<>();
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            List<Future<Long>> results = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int id = t;
                ConcurrentLinkedQueue<Live> mine = new ConcurrentLinkedQueue<>();
                lives.add(mine);
                results.add(pool.submit(() -> {
                    SplittableRandom r = new SplittableRandom(id);
                    long[] pages = new long[16];
                    for (int i = 0; i < pages.length; i++) {
                        pages[i] = machine.pageAllocator().allocPages(2, lo, Long.MAX_VALUE);
                    }
                    long dst = machine.pageAllocator().allocPages(2, lo, Long.MAX_VALUE);
                    ArrayDeque<Live> held = new ArrayDeque<>();
                    long bad = 0;
                    int next = 0;
                    for (int phase = 0; phase < PHASES; phase++) {
                        for (int round = 0; round < ROUNDS; round++) {
                            if (held.size() == 8) {
                                release(m, held.removeFirst(), mine);
                            }
                            long page = pages[next++ % pages.length];
                            if (held.stream().anyMatch(l -> l.phys() == page)) {
                                continue;
                            }
                            long seed = ((long) id << 40) | ((long) phase << 32) | round;
                            long size = 4096L * (1 + r.nextInt(4));
                            Bytes.fill(cpu, page, size, seed);
                            Live l = map(m, r.nextInt(3), page, size, seed);
                            held.addLast(l);
                            mine.add(l);
                            long d = m.mapPhys(dst, size, DmaDirection.FROM_DEVICE, 0);
                            long status = CopyEngine.copy(cpu, machine.device(dev).bar(0), l.dma(), d, size);
                            m.unmapPhys(d, size, DmaDirection.FROM_DEVICE, 0);
                            if (status != CopyEngine.STATUS_DONE || Bytes.mismatch(cpu, dst, size, seed) >= 0) {
                                bad++;
                            }
                        }
                        barrier.await(60, TimeUnit.SECONDS); // the test checks the live addresses
                        barrier.await(60, TimeUnit.SECONDS);
                    }
                    while (!held.isEmpty()) {
                        release(m, held.removeFirst(), mine);
                    }
                    return bad;
                }));
            }
            for (int phase = 0; phase < PHASES; phase++) {
                barrier.await(60, TimeUnit.SECONDS);
                List<Live> all = new ArrayList<>();
                lives.forEach(all::addAll);
                all.sort(Comparator.comparingLong(Live::dma));
                for (int i = 1; i < all.size(); i++) {
                    Live a = all.get(i - 1);
                    Live b = all.get(i);
                    assertThat(a.dma() + a.size()).as("phase %d: %s and %s overlap", phase, a, b).isLessThanOrEqualTo(b.dma());
                }
                barrier.await(60, TimeUnit.SECONDS);
            }
            for (Future<Long> f : results) {
                assertThat(f.get(120, TimeUnit.SECONDS)).as("copies with a wrong byte").isZero();
            }
            pool.shutdown();
            clock.advance(TimeUnit.SECONDS.toNanos(2)); // lazy: the flush-queue timeout
            Map<String, Long> st = rt.statistics(dev).asMap();
            assertThat(rt.liveMappings(dev)).isZero();
            assertThat(st.getOrDefault("backend.iova.inUseGranules", 0L)).as("IOVA granules in use after the flush").isZero();
            assertThat(st.getOrDefault("bounce.slots.used", 0L)).isZero();
            assertThat(st).containsEntry("faults", 0L);
            assertThat(rt.debugReports()).isEmpty();
        }
    }

    /** Maps a source range: 0 = mapPhys, 1 = a scatter list of its pages, 2 = two-step (or mapPhys without IOVA). */
    private static Live map(DmaMapper m, int kind, long page, long size, long seed) {
        if (kind == 1) {
            ScatterList sg = new ScatterList((int) (size / 4096));
            for (int i = 0; i < sg.capacity(); i++) {
                sg.set(i, page + 4096L * i, 4096);
            }
            int n = m.mapSg(sg, sg.capacity(), DmaDirection.TO_DEVICE, 0);
            if (n == 1) {
                return new Live(sg.dmaAddress(0), size, page, seed, "sg", sg);
            }
            m.unmapSg(sg, sg.capacity(), DmaDirection.TO_DEVICE, 0); // not one range (no IOMMU merging): a single mapping instead
        }
        if (kind == 2) {
            IovaState state = new IovaState();
            if (m.iovaTryAlloc(state, page, size)) {
                m.iovaLink(state, page, 0, size, DmaDirection.TO_DEVICE, 0);
                m.iovaSync(state, 0, size);
                return new Live(state.addr(), size, page, seed, "two-step", state);
            }
        }
        return new Live(m.mapPhys(page, size, DmaDirection.TO_DEVICE, 0), size, page, seed, "phys", null);
    }

    private static void release(DmaMapper m, Live l, ConcurrentLinkedQueue<Live> mine) {
        mine.remove(l);
        switch (l.kind()) {
            case "sg" -> {
                ScatterList sg = (ScatterList) l.handle();
                m.unmapSg(sg, sg.capacity(), DmaDirection.TO_DEVICE, 0);
            }
            case "two-step" -> m.iovaDestroy((IovaState) l.handle(), l.size(), DmaDirection.TO_DEVICE, 0);
            default -> m.unmapPhys(l.dma(), l.size(), DmaDirection.TO_DEVICE, 0);
        }
    }
}
