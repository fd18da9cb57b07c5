package io.dma4j.provider.iommu;

import java.util.Map;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLongArray;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IovaAllocatorTest {
    private static final long LIMIT32 = (1L << 20) - 1; // last 4 KiB pfn below 4 GiB

    @Test
    void allocatesTopDownFromTheLimitAndSizeAligned() {
        IovaAllocator a = new IovaAllocator(12, 1);
        assertThat(a.allocFast(1, LIMIT32, true)).isEqualTo(0xFFFFF);
        assertThat(a.allocFast(1, LIMIT32, true)).isEqualTo(0xFFFFE);
        assertThat(a.allocFast(3, LIMIT32, true)).as("3 rounds up to 4, aligned to 4").isEqualTo(0xFFFF8);
        assertThat(a.allocFast(40, LIMIT32, true)).as("40 granules below 0xffff8, aligned to 64").isEqualTo(0xFFFC0);
        assertThat(a.allocFast(1, LIMIT32, true)).as("the search continues below the last allocation").isEqualTo(0xFFFBF);
        assertThat(a.ranges()).containsEntry(0xFFFF8L, 0xFFFFBL).containsEntry(0xFFFC0L, 0xFFFE7L);
        a.checkInvariants();
    }

    @Test
    void depotTrimmingFreesTheMagazineAtTheHeadAsTheKernelPopsIt() {
        // drivers/iommu/iova.c (v6.7+): iova_depot_push puts a full magazine at the head and
        // iova_depot_work_func, once the depot holds more than num_online_cpus() magazines,
        // frees the one iova_depot_pop takes: the head, the magazine pushed last
        io.dma4j.spi.ManualClock clock = new io.dma4j.spi.ManualClock();
        IovaAllocator a = new IovaAllocator(12, 1, clock);
        int cpus = Runtime.getRuntime().availableProcessors();
        int mag = IovaAllocator.MAG_SIZE;
        long[] p = new long[(cpus + 3) * mag];
        for (int i = 0; i < p.length; i++) {
            p[i] = a.allocFast(1, LIMIT32, true);
        }
        clock.advance(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(100)); // the trim period has passed
        for (long pfn : p) {
            a.freeFast(pfn, 1);
        }
        // the first magazine the thread holds as its previous one; magazine k (pfns p[k*mag ..]) is
        // pushed when p[(k+1)*mag] is freed; push number cpus + 1 makes the depot too big
        int trimmed = cpus + 1;
        Map<Long, Long> tree = a.ranges();
        for (int i = trimmed * mag; i < (trimmed + 1) * mag; i++) {
            assertThat(tree).as("pfn %d of the magazine pushed last went back to the tree", i).doesNotContainKey(p[i]);
        }
        for (int i = mag; i < 2 * mag; i++) {
            assertThat(tree).as("the oldest magazine in the depot stays cached").containsKey(p[i]);
        }
        assertThat(a.cachedGranules()).isEqualTo(p.length - mag);
        a.checkInvariants();
    }

    @Test
    void freedRangesComeBackFromTheCacheWithoutTouchingTheTree() {
        IovaAllocator a = new IovaAllocator(12, 1);
        long x = a.allocFast(2, LIMIT32, true);
        a.freeFast(x, 2);
        assertThat(a.treeGranules()).as("a cached range stays reserved in the tree").isEqualTo(2);
        assertThat(a.cachedGranules()).isEqualTo(2);
        assertThat(a.allocFast(2, LIMIT32, true)).isEqualTo(x);
        assertThat(a.cachedGranules()).isZero();
        // a cached range above a lower limit is not handed out for that limit
        a.freeFast(x, 2);
        long low = a.allocFast(2, 0xFFFF, true);
        assertThat(low + 1).isLessThanOrEqualTo(0xFFFF);
    }

    @Test
    void pfnZeroIsNeverHandedOutAndExhaustionAnswersZero() {
        IovaAllocator a = new IovaAllocator(12, 1);
        List<Long> got = new ArrayList<>();
        for (long p; (p = a.allocFast(1, 15, true)) != 0; ) {
            got.add(p);
        }
        assertThat(got).hasSize(15).doesNotContain(0L).contains(1L, 15L);
    }

    @Test
    void exhaustionIsRetriedAfterTheCachesAreDrained() {
        IovaAllocator a = new IovaAllocator(12, 1);
        List<Long> singles = new ArrayList<>();
        for (long p; (p = a.allocFast(1, 63, true)) != 0; ) {
            singles.add(p);
        }
        assertThat(singles).hasSize(63);
        for (long p : singles) {
            a.freeFast(p, 1); // all of them sit in this thread's magazines now
        }
        assertThat(a.allocFast(2, 63, false)).as("no retry allowed: the tree is full of cached singles").isZero();
        long two = a.allocFast(2, 63, true);
        assertThat(two).as("drained and retried").isEqualTo(62);
        assertThat(a.cachedGranules()).isZero();
        a.checkInvariants();
    }

    @Test
    void aSizeThatFailedBelow4GiBFailsFastUntilSomethingThereIsFreed() {
        IovaAllocator a = new IovaAllocator(12, 1);
        long big = a.treeAlloc(1L << 19, LIMIT32); // half of the 32-bit space
        assertThat(big).isEqualTo(1L << 19);
        assertThat(a.treeAlloc(1L << 19, LIMIT32)).as("[0, 2 GiB) holds pfn 0").isZero();
        assertThat(a.treeAlloc(1L << 19, LIMIT32)).isZero();
        a.treeFree(big);
        assertThat(a.treeAlloc(1L << 19, LIMIT32)).isEqualTo(1L << 19);
    }

    @Test
    void doubleFreeIsRefused() {
        IovaAllocator a = new IovaAllocator(12, 1);
        long p = a.treeAlloc(64, LIMIT32);
        a.treeFree(p);
        assertThatThrownBy(() -> a.treeFree(p)).isInstanceOf(IllegalStateException.class).hasMessageContaining("not allocated");
    }

    /**
     * Two threads, a million operations, sizes on both sides of the cache limit: every
     * granule handed out is marked in a shared bitmap, and marking one that is already
     * marked means the same range went out twice.
     */
    @Test
    void twoThreadsNeverGetOverlappingRanges() throws Exception {
        IovaAllocator a = new IovaAllocator(12, 1);
        long limit = (1L << 16) - 1;
        AtomicLongArray bits = new AtomicLongArray((int) ((limit + 64) / 64));
        long[] done = new long[2];
        Throwable[] failure = new Throwable[2];
        Thread[] workers = new Thread[2];
        for (int t = 0; t < 2; t++) {
            int id = t;
            workers[t] = Thread.ofPlatform().start(() -> {
                try {
                    done[id] = run(a, bits, limit, id, 500_000);
                } catch (Throwable e) {
                    failure[id] = e;
                }
            });
        }
        for (Thread w : workers) {
            w.join();
        }
        assertThat(failure).containsOnlyNulls();
        assertThat(done[0] + done[1]).isEqualTo(1_000_000);
        a.checkInvariants();
        assertThat(a.treeGranules()).as("the workers' magazines still hold their freed ranges").isEqualTo(a.cachedGranules());
        a.drainCaches(); // the workers have ended: their magazines drain now
        assertThat(a.treeGranules()).as("everything freed and drained").isZero();
    }

    private static long run(IovaAllocator a, AtomicLongArray bits, long limit, long seed, int ops) {
        SplittableRandom rnd = new SplittableRandom(seed);
        long[] pfn = new long[64];
        long[] size = new long[64];
        long done = 0;
        for (int i = 0; i < ops; i++) {
            int k = rnd.nextInt(64);
            if (pfn[k] != 0) {
                mark(bits, pfn[k], IovaAllocator.roundUpPow2(size[k]) > IovaAllocator.RCACHE_MAX_GRANULES ? size[k] : IovaAllocator.roundUpPow2(size[k]), false);
                a.freeFast(pfn[k], size[k]);
                pfn[k] = 0;
            } else {
                long s = 1 + rnd.nextInt(48);
                long p = a.allocFast(s, limit, true);
                if (p == 0) {
                    throw new IllegalStateException("space ran out");
                }
                long span = s <= IovaAllocator.RCACHE_MAX_GRANULES ? IovaAllocator.roundUpPow2(s) : s;
                if (p + span - 1 > limit || p == 0) {
                    throw new IllegalStateException("range beyond the limit");
                }
                mark(bits, p, span, true);
                pfn[k] = p;
                size[k] = s;
            }
            done++;
        }
        for (int k = 0; k < 64; k++) {
            if (pfn[k] != 0) {
                long span = size[k] <= IovaAllocator.RCACHE_MAX_GRANULES ? IovaAllocator.roundUpPow2(size[k]) : size[k];
                mark(bits, pfn[k], span, false);
                a.freeFast(pfn[k], size[k]);
            }
        }
        return done;
    }

    private static void mark(AtomicLongArray bits, long pfn, long n, boolean set) {
        for (long p = pfn; p < pfn + n; p++) {
            int w = (int) (p >>> 6);
            long bit = 1L << (p & 63);
            long old;
            do {
                old = bits.get(w);
                if (set == ((old & bit) != 0)) {
                    throw new IllegalStateException(String.format("pfn 0x%x %s", p, set ? "handed out twice" : "freed while not out"));
                }
            } while (!bits.compareAndSet(w, old, old ^ bit));
        }
    }
}
