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
    void freeingARangeNoOneHoldsChangesNothingAndIsCounted() {
        // free_iova (v6.7+): private_find_iova finds nothing, the lock is dropped, nothing changes
        IovaAllocator a = new IovaAllocator(12, 1);
        long p = a.treeAlloc(64, LIMIT32);
        long q = a.treeAlloc(64, LIMIT32);
        assertThat(a.treeFree(p)).isTrue();
        assertThat(a.treeFree(p)).as("a second free").isFalse();
        assertThat(a.freeFast(p, 64)).as("the same through the fast entry (64 granules: no cache)").isFalse();
        assertThat(a.unknownFrees()).isEqualTo(2);
        assertThat(a.ranges()).containsOnlyKeys(q);
        assertThat(a.treeGranules()).isEqualTo(64);
        a.checkInvariants();
    }

    @Test
    void freeingAnyPfnInsideARangeFreesTheWholeRange() {
        // private_find_iova matches pfn_lo <= pfn <= pfn_hi, so free_iova(pfn_lo + 5) frees the range
        IovaAllocator a = new IovaAllocator(12, 1);
        long p = a.treeAlloc(64, LIMIT32);
        assertThat(a.treeFree(p + 5)).isTrue();
        assertThat(a.ranges()).isEmpty();
        assertThat(a.treeGranules()).isZero();
    }

    /*
     * Scripted sequences. Each expected pfn is worked out by hand from
     * __alloc_and_insert_iova_range, __cached_rbnode_insert_update and
     * __cached_rbnode_delete_update in drivers/iommu/iova.c (v6.7+); the allocator's limit is
     * inclusive, the kernel's internal limit_pfn is one above it (0x100000 for LIMIT32).
     */

    @Test
    void aFreeMovesTheCachedNodeToTheNextRangeAboveSoTheHoleAboveIsFoundFirst() {
        IovaAllocator a = new IovaAllocator(12, 1);
        assertThat(a.treeAlloc(64, LIMIT32)).isEqualTo(0xFFFC0); // A; cached32 = A
        long y = a.treeAlloc(64, LIMIT32);
        assertThat(y).isEqualTo(0xFFF80);                        // Y; cached32 = Y
        long x = a.treeAlloc(64, LIMIT32);
        assertThat(x).isEqualTo(0xFFF40);                        // X; cached32 = X
        a.treeFree(y);                                           // Y.lo >= X.lo: cached32 = rb_next(Y) = A
        // 128 granules, aligned to 128: from A.lo 0xfffc0 the candidate 0xfff00 overlaps X,
        // below X.lo 0xfff40 the candidate is 0xffe80; cached32 = Z
        assertThat(a.treeAlloc(128, LIMIT32)).isEqualTo(0xFFE80);
        a.treeFree(x);                                           // X.lo >= Z.lo: cached32 = rb_next(X) = A, not X's end
        // the walk starts at A.lo again and takes Y's old place, the top of the merged hole
        // [0xfff00, 0xfffbf]; a cached position at X's end (0xfff80) would have given 0xfff40
        assertThat(a.treeAlloc(64, LIMIT32)).isEqualTo(0xFFF80);
        a.checkInvariants();
    }

    @Test
    void whichCachedNodeMovesOnInsertIsDecidedByTheRangesEndNotTheLimit() {
        IovaAllocator a = new IovaAllocator(12, 1);
        long limitJustAbove4G = (1L << 20) + 10; // inclusive; limit_pfn 0x10000b > dma_32bit_pfn: cached_node is used
        // from the anchor: (0x10000b - 64) & ~63 = 0xfffc0, which ends at 0xfffff < dma_32bit_pfn,
        // so __cached_rbnode_insert_update moves cached32_node, and cached_node stays at the anchor
        assertThat(a.treeAlloc(64, limitJustAbove4G)).isEqualTo(0xFFFC0);
        long limit36 = (1L << 36) - 1;
        assertThat(a.treeAlloc(64, limit36)).as("a 36-bit request still starts at the anchor: the top").isEqualTo((1L << 36) - 64);
        assertThat(a.treeAlloc(64, LIMIT32)).as("a 32-bit request starts at cached32_node").isEqualTo(0xFFF80);
        a.checkInvariants();
    }

    @Test
    void aTinyDomainRunToExhaustionRetriesAboveTheCachedNodeAndFailsFast() {
        IovaAllocator a = new IovaAllocator(12, 1);
        long limit = 15; // limit_pfn 16, start_pfn 1
        assertThat(a.treeAlloc(4, limit)).isEqualTo(12);
        assertThat(a.treeAlloc(2, limit)).isEqualTo(10);
        assertThat(a.treeAlloc(4, limit)).isEqualTo(4);
        assertThat(a.treeAlloc(1, limit)).isEqualTo(3);
        // below 3 a 2-granule range would start at 0 < start_pfn: retry from iova_find_limit(16)
        // (the anchor) with low_pfn = cached [3,3].pfn_hi + 1 = 4: walking down, 8 clears [4,7]
        assertThat(a.treeAlloc(2, limit)).isEqualTo(8);
        // cached32 = [8,9]; below it nothing holds 2 aligned granules, the retry's floor is 10:
        // failure, max32_alloc_size = 2
        assertThat(a.treeAlloc(2, limit)).isZero();
        assertThat(a.max32AllocSize()).isEqualTo(2);
        assertThat(a.treeAlloc(2, limit)).as("fails fast: size >= max32_alloc_size").isZero();
        assertThat(a.treeAlloc(1, limit)).as("a smaller size still walks: from [8,9] down to 2").isEqualTo(2);
        assertThat(a.treeAlloc(1, limit)).isEqualTo(1);
        assertThat(a.treeAlloc(1, limit)).as("every pfn from 1 to 15 is taken").isZero();
        assertThat(a.treeGranules()).isEqualTo(15);
        a.treeFree(3);
        assertThat(a.max32AllocSize()).as("a free below 4 GiB resets it to dma_32bit_pfn").isEqualTo(1L << 20);
        assertThat(a.treeAlloc(1, limit)).isEqualTo(3);
        a.checkInvariants();
    }

    @Test
    void everyFailureSetsMax32AllocSizeWhateverTheLimit() {
        IovaAllocator a = new IovaAllocator(12, 1);
        long limit = (1L << 20) + (1L << 19) - 1; // limit_pfn 0x180000, above dma_32bit_pfn
        assertThat(a.treeAlloc(1L << 19, limit)).isEqualTo(0x100000); // cached_node
        assertThat(a.treeAlloc(1L << 19, limit)).isEqualTo(0x80000);  // ends below 4 GiB: cached32_node
        assertThat(a.treeAlloc(1L << 19, limit)).as("[1, 0x80000) cannot hold it aligned").isZero();
        assertThat(a.max32AllocSize()).as("set by a failure above 4 GiB too").isEqualTo(1L << 19);
        a.treeFree(0x100000);
        assertThat(a.max32AllocSize()).as("a free above 4 GiB leaves it").isEqualTo(1L << 19);
    }

    @Test
    void mixedSizesAboveAndBelowTheCacheLimit() {
        IovaAllocator a = new IovaAllocator(12, 1);
        long big = a.allocFast(48, LIMIT32, true); // no rounding above 32 granules, aligned to 64
        assertThat(big).isEqualTo(0x100000 - 64);
        long small = a.allocFast(3, LIMIT32, true); // rounded to 4: from big.lo 0xfffc0 down
        assertThat(small).isEqualTo(0xFFFBC);
        assertThat(a.freeFast(big, 48)).isTrue();   // 48 granules go to the tree at once
        assertThat(a.ranges()).containsOnlyKeys(small);
        assertThat(a.freeFast(small, 3)).isTrue();  // 4 granules go to the thread's magazine
        assertThat(a.ranges()).as("a cached range stays in the tree").containsOnlyKeys(small);
        assertThat(a.allocFast(4, LIMIT32, true)).as("and comes back from the cache").isEqualTo(small);
        // the tree's cached32 node moved to the anchor when big was freed (big.lo >= small.lo):
        // 40 granules (aligned to 64) go back to the top
        assertThat(a.allocFast(40, LIMIT32, true)).isEqualTo(0xFFFC0);
        a.checkInvariants();
    }

    @Test
    void theSameOperationsGiveTheSameAddressesEveryRun() {
        assertThat(script(new IovaAllocator(12, 1))).isEqualTo(script(new IovaAllocator(12, 1)));
    }

    private static List<Long> script(IovaAllocator a) {
        SplittableRandom rnd = new SplittableRandom(42);
        long[] live = new long[200];
        long[] size = new long[200];
        List<Long> got = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            int k = rnd.nextInt(live.length);
            if (live[k] != 0) {
                a.freeFast(live[k], size[k]);
                live[k] = 0;
            } else {
                size[k] = 1 + rnd.nextInt(300);
                live[k] = a.allocFast(size[k], rnd.nextBoolean() ? LIMIT32 : (1L << 40) - 1, true);
                got.add(live[k]);
            }
        }
        return got;
    }

    /**
     * The tree against a second, plain implementation of the same kernel rules on a
     * {@code TreeMap} (slow, obviously right): 200,000 random tree allocations and frees
     * over 32-bit and wider limits in a small space give the same pfns, and the red-black
     * tree's invariants hold throughout.
     */
    @Test
    void agreesWithAPlainModelOfTheKernelRules() {
        for (long seed = 1; seed <= 4; seed++) {
            SplittableRandom rnd = new SplittableRandom(seed);
            IovaAllocator a = new IovaAllocator(12, 1);
            KernelModel m = new KernelModel(1L << 20, 1);
            List<Long> live = new ArrayList<>();
            for (int i = 0; i < 50_000; i++) {
                if (!live.isEmpty() && rnd.nextInt(100) < 45) {
                    long pfn = live.remove(rnd.nextInt(live.size()));
                    long inside = pfn + rnd.nextInt(2); // any pfn of the range frees it
                    assertThat(a.treeFree(inside)).isEqualTo(m.free(inside));
                } else {
                    long s = 1 + rnd.nextInt(rnd.nextBoolean() ? 8 : 20_000);
                    long limit = switch (rnd.nextInt(3)) {
                        case 0 -> LIMIT32;
                        case 1 -> (1L << 20) + (1L << 18);
                        default -> 0x3FFFF;
                    };
                    long want = m.alloc(s, limit + 1);
                    assertThat(a.treeAlloc(s, limit)).as("op %d seed %d: %d granules below 0x%x", i, seed, s, limit).isEqualTo(want);
                    if (want != 0) {
                        live.add(want);
                    }
                }
                if (i % 1000 == 0) {
                    a.checkInvariants();
                }
            }
            assertThat(a.ranges()).isEqualTo(m.ranges);
            a.checkInvariants();
        }
    }

    /** The kernel's rules written plainly: cached nodes as keys, rb_prev as lowerKey. */
    private static final class KernelModel {
        static final long ANCHOR = Long.MAX_VALUE;
        final java.util.TreeMap<Long, Long> ranges = new java.util.TreeMap<>();
        final java.util.TreeMap<Long, Long> all = new java.util.TreeMap<>(Map.of(ANCHOR, ANCHOR));
        final long dma32;
        final long start;
        long cached = ANCHOR;
        long cached32 = ANCHOR;
        long max32;

        KernelModel(long dma32, long start) {
            this.dma32 = dma32;
            this.start = start;
            this.max32 = dma32;
        }

        long alloc(long size, long limit) {
            long mask = ~(IovaAllocator.roundUpPow2(size) - 1);
            if (limit <= dma32 && size >= max32) {
                return 0;
            }
            Long curr = limit <= dma32 ? cached32 : cached;
            long retry = all.get(curr);
            long high = limit;
            long low = start;
            long pfn;
            while (true) {
                do {
                    high = Math.min(high, curr);
                    pfn = (high - size) & mask;
                    curr = all.lowerKey(curr);
                } while (curr != null && pfn <= all.get(curr) && pfn >= low);
                if (high >= size && pfn >= low) {
                    break;
                }
                if (low == start && retry < limit) {
                    high = limit;
                    low = retry + 1;
                    curr = limit > dma32 ? ANCHOR : all.ceilingKey(limit); // a node at or above the limit
                    Long below = all.lowerKey(curr);
                    if (below != null && all.get(below) >= limit) {
                        curr = below; // the range the limit falls in (the walk's outcome is the same)
                    }
                    continue;
                }
                max32 = size;
                return 0;
            }
            all.put(pfn, pfn + size - 1);
            ranges.put(pfn, pfn + size - 1);
            if (pfn + size - 1 < dma32) {
                cached32 = pfn;
            } else {
                cached = pfn;
            }
            return pfn;
        }

        boolean free(long pfn) {
            Map.Entry<Long, Long> e = ranges.floorEntry(pfn);
            if (e == null || e.getValue() < pfn) {
                return false;
            }
            long lo = e.getKey();
            long hi = e.getValue();
            long next = all.higherKey(lo);
            if (lo == cached32 || (hi < dma32 && lo >= cached32)) {
                cached32 = next;
            }
            if (lo < dma32) {
                max32 = dma32;
            }
            if (lo >= cached) {
                cached = next;
            }
            ranges.remove(lo);
            all.remove(lo);
            return true;
        }
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
