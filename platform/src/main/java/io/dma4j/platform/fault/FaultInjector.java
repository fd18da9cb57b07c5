package io.dma4j.platform.fault;

import java.util.Arrays;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.StringJoiner;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fault injection in the manner of the kernel's framework
 * ({@code Documentation/fault-injection/fault-injection.rst}, {@code lib/fault-inject.c}):
 * named failure points, each with a probability, an interval, a number of times and a
 * per-device filter, and the per-thread "fail the Nth injectable call" of
 * {@code /proc/<pid>/fail-nth}. A machine has one; the code behind each {@link Point} asks
 * {@link #shouldFail} and, when told to, fails the way it fails for real (no memory, no
 * IOVA space, no bounce slot, a device error), so error paths can be reached without
 * exhausting anything.
 *
 * <p>Settings, programmatically ({@link #point}) or from configuration ({@link #configure},
 * {@code -D dma4j.fail.<point>.<setting>=value} in dmactl and the runtime):
 * <ul>
 * <li>{@code probability}: percent of the eligible calls that fail (0..100; 0 turns the
 *     point off);</li>
 * <li>{@code interval}: only every Nth eligible call may fail (default 1);</li>
 * <li>{@code times}: how many failures at most (default -1, no limit);</li>
 * <li>{@code device}: only calls made for this device count (default: any);</li>
 * <li>{@code dma4j.fail.seed}: the seed of the probability draws (default 0), so a run
 *     can be repeated.</li>
 * </ul>
 * As in {@code should_fail_ex}, a thread with {@link #setFailNth fail-nth} armed counts
 * every injectable call it reaches (on any point, whatever the point's settings, unless
 * limited to some points) and fails the Nth; other settings are not consulted for it.
 *
 * <p>Cost when off: one read of a volatile flag per call site. Thread safety: every method
 * may be called from any thread; fail-nth is per thread.
 */
public final class FaultInjector {
    /** The failure points, with their configuration names. */
    public enum Point {
        /** The buddy page allocator ({@code fail_page_alloc}): the allocation throws as when memory is exhausted. */
        PAGE_ALLOC("page_alloc"),
        /** IOVA space allocation in an IOMMU domain: answers "no space", as an exhausted domain does. */
        IOVA_ALLOC("iova_alloc"),
        /** A page-table table page: the map fails with no memory ({@code -ENOMEM}) and nothing stays mapped. */
        PGTABLE_ALLOC("pgtable_alloc"),
        /** The swiotlb slot search: answers "no slot", as a full pool does. */
        SWIOTLB("swiotlb"),
        /** Peer memory allocation ({@code pci_alloc_p2pmem}): answers nothing, as an exhausted pool does. */
        P2PMEM("p2pmem"),
        /** Coherent allocation ({@code dma_alloc_attrs}) for a device: fails with no memory. */
        COHERENT_ALLOC("coherent_alloc"),
        /** One DMA transfer of a device through its port: it faults (recorded, reason INJECTED) and moves nothing. */
        DMA_TRANSFER("dma_transfer"),
        /** A command a device model executes (NVMe, RNIC, mlx5 VF): it completes with the device's internal-error status. */
        DEVICE_COMMAND("device_command");

        private final String key;

        Point(String key) {
            this.key = key;
        }

        /** The configuration name ({@code dma4j.fail.<key>.*}). */
        public String key() {
            return key;
        }

        /**
         * The point of a configuration name.
         *
         * @throws IllegalArgumentException naming the known points
         */
        public static Point byKey(String key) {
            for (Point p : values()) {
                if (p.key.equals(key)) {
                    return p;
                }
            }
            StringJoiner known = new StringJoiner(", ");
            for (Point p : values()) {
                known.add(p.key);
            }
            throw new IllegalArgumentException("no fault point '" + key + "' (points: " + known + ")");
        }
    }

    /** The configuration prefix. */
    public static final String PREFIX = "dma4j.fail.";

    /** One point's settings and counters ({@code struct fault_attr}). Thread-safe. */
    public final class Attr {
        private final Point point;
        private volatile int probability;
        private volatile long interval = 1;
        private final AtomicLong times = new AtomicLong(-1);
        private volatile String device;
        private final AtomicLong eligible = new AtomicLong();
        private final AtomicLong failures = new AtomicLong();

        private Attr(Point point) {
            this.point = point;
        }

        /**
         * Percent of eligible calls that fail; 0 turns the point off.
         *
         * @throws IllegalArgumentException outside 0..100
         */
        public Attr probability(int percent) {
            if (percent < 0 || percent > 100) {
                throw new IllegalArgumentException(PREFIX + point.key + ".probability: " + percent + " (expected: 0..100)");
            }
            this.probability = percent;
            rearm();
            return this;
        }

        /**
         * Only every {@code n}th eligible call may fail.
         *
         * @throws IllegalArgumentException when below 1
         */
        public Attr interval(long n) {
            if (n < 1) {
                throw new IllegalArgumentException(PREFIX + point.key + ".interval: " + n + " (expected: >= 1)");
            }
            this.interval = n;
            return this;
        }

        /**
         * At most {@code n} failures, then the point stays quiet; -1 for no limit.
         *
         * @throws IllegalArgumentException below -1
         */
        public Attr times(long n) {
            if (n < -1) {
                throw new IllegalArgumentException(PREFIX + point.key + ".times: " + n + " (expected: -1 for no limit, or >= 0)");
            }
            times.set(n);
            return this;
        }

        /** Only calls for this device count (null: any call, with or without a device). */
        public Attr device(String name) {
            this.device = name;
            return this;
        }

        /** Turns the point off and clears its counters. */
        public Attr reset() {
            probability = 0;
            interval = 1;
            times.set(-1);
            device = null;
            eligible.set(0);
            failures.set(0);
            rearm();
            return this;
        }

        /** Failures injected at this point so far (by its settings or by fail-nth). */
        public long failures() {
            return failures.get();
        }

        /** Calls that passed the point's filter while it was on. */
        public long eligibleCalls() {
            return eligible.get();
        }

        public int probability() {
            return probability;
        }

        public long interval() {
            return interval;
        }

        public long times() {
            return times.get();
        }

        public String device() {
            return device;
        }

        private boolean decide(String dev) {
            if (probability == 0) {
                return false;
            }
            String only = device;
            if (only != null && !only.equals(dev)) {
                return false;
            }
            if (times.get() == 0) {
                return false;
            }
            long n = eligible.incrementAndGet();
            if (n % interval != 0) {
                return false;
            }
            if (probability < 100 && draw() >= probability) {
                return false;
            }
            while (true) { // atomic_dec_not_zero, unless unlimited
                long t = times.get();
                if (t == 0) {
                    return false;
                }
                if (t < 0 || times.compareAndSet(t, t - 1)) {
                    break;
                }
            }
            failures.incrementAndGet();
            return true;
        }

        @Override
        public String toString() {
            return String.format("%s: probability %d%%, interval %d, times %d, device %s; %d failures", point.key, probability, interval, times.get(),
                    device == null ? "any" : device, failures.get());
        }
    }

    /** A thread's fail-nth counter and the points it counts. */
    private static final class Nth {
        int left;
        Set<Point> points;
    }

    private final Map<Point, Attr> attrs = new EnumMap<>(Point.class);
    private final ThreadLocal<Nth> nth = ThreadLocal.withInitial(Nth::new);
    private final AtomicInteger nthArmed = new AtomicInteger();
    private volatile boolean armed;
    private SplittableRandom random = new SplittableRandom(0);

    /** An injector with every point off. */
    public FaultInjector() {
        for (Point p : Point.values()) {
            attrs.put(p, new Attr(p));
        }
    }

    /** The settings of one point. */
    public Attr point(Point p) {
        return attrs.get(Objects.requireNonNull(p, "point"));
    }

    /** Whether any point or any thread's fail-nth is on (a call site's only cost when not). */
    public boolean armed() {
        return armed;
    }

    /**
     * Asks whether this call at {@code point}, made for {@code device} (null when the call
     * has no device, as the page allocator's), must fail. Callers fail the way the point says.
     */
    public boolean shouldFail(Point point, String device) {
        if (!armed) {
            return false;
        }
        if (nthArmed.get() > 0) {
            Nth t = nth.get();
            if (t.left > 0 && (t.points == null || t.points.contains(point))) {
                if (--t.left == 0) {
                    nthArmed.decrementAndGet();
                    rearm();
                    attrs.get(point).failures.incrementAndGet();
                    return true;
                }
                return false;
            }
        }
        return attrs.get(point).decide(device);
    }

    /**
     * Arms fail-nth on this thread: its {@code n}th injectable call from now fails (1 = the
     * next one), whatever the points' settings; 0 disarms. As writing {@code /proc/self/fail-nth}.
     *
     * @throws IllegalArgumentException when negative
     */
    public void setFailNth(int n) {
        setFailNth(n, null);
    }

    /**
     * As {@link #setFailNth(int)}, counting only calls at the given points (null: all).
     *
     * @throws IllegalArgumentException when negative or the set is empty
     */
    public void setFailNth(int n, Set<Point> points) {
        if (n < 0) {
            throw new IllegalArgumentException("fail-nth: " + n + " (expected: >= 0; 0 disarms)");
        }
        if (points != null && points.isEmpty()) {
            throw new IllegalArgumentException("fail-nth: an empty set of points (expected: null for all, or some points)");
        }
        Nth t = nth.get();
        if (t.left > 0) {
            nthArmed.decrementAndGet();
        }
        t.left = n;
        t.points = points == null ? null : EnumSet.copyOf(points);
        if (n > 0) {
            nthArmed.incrementAndGet();
        }
        rearm();
    }

    /**
     * This thread's fail-nth counter: the calls left before the failure, 0 once it fired (or
     * when never armed). As reading {@code /proc/self/fail-nth}: a value above 0 after a run
     * means the run reached fewer injectable calls than asked.
     */
    public int failNth() {
        return nth.get().left;
    }

    /** Reseeds the probability draws (for repeatable runs). */
    public synchronized void seed(long seed) {
        random = new SplittableRandom(seed);
    }

    private synchronized int draw() {
        return random.nextInt(100);
    }

    private void rearm() {
        boolean any = nthArmed.get() > 0;
        for (Attr a : attrs.values()) {
            any |= a.probability > 0;
        }
        armed = any;
    }

    /** Turns every point off and clears the counters (this thread's fail-nth too). */
    public void reset() {
        for (Attr a : attrs.values()) {
            a.reset();
        }
        setFailNth(0);
    }

    /**
     * Applies {@code dma4j.fail.*} settings: {@code dma4j.fail.seed} and
     * {@code dma4j.fail.<point>.probability|interval|times|device}; other keys are ignored.
     *
     * @throws IllegalArgumentException naming the key for an unknown point or setting or a
     *                                  value that does not parse or is out of range
     */
    public void configure(Map<String, String> settings) {
        for (Map.Entry<String, String> e : settings.entrySet()) {
            String k = e.getKey();
            if (!k.startsWith(PREFIX)) {
                continue;
            }
            String rest = k.substring(PREFIX.length());
            String v = e.getValue().trim();
            if (rest.equals("seed")) {
                seed(parse(k, v));
                continue;
            }
            int dot = rest.indexOf('.');
            if (dot < 0) {
                throw new IllegalArgumentException("configuration " + k + ": expected " + PREFIX + "<point>.<setting> or " + PREFIX + "seed");
            }
            Point p;
            try {
                p = Point.byKey(rest.substring(0, dot));
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("configuration " + k + ": " + ex.getMessage(), ex);
            }
            Attr a = point(p);
            switch (rest.substring(dot + 1)) {
                case "probability" -> a.probability((int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, parse(k, v))));
                case "interval" -> a.interval(parse(k, v));
                case "times" -> a.times(parse(k, v));
                case "device" -> a.device(v.isEmpty() ? null : v);
                default -> throw new IllegalArgumentException("configuration " + k + ": unknown setting '" + rest.substring(dot + 1)
                        + "' (settings: probability, interval, times, device)");
            }
        }
    }

    private static long parse(String key, String v) {
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("configuration " + key + ": '" + v + "' is not a whole number", e);
        }
    }

    /** Failures injected so far, per point (points with none left out). */
    public Map<Point, Long> failures() {
        Map<Point, Long> m = new EnumMap<>(Point.class);
        for (Attr a : attrs.values()) {
            if (a.failures() > 0) {
                m.put(a.point, a.failures());
            }
        }
        return m;
    }

    /** The configuration names of every point, for help texts. */
    public static String pointNames() {
        return String.join(", ", Arrays.stream(Point.values()).map(Point::key).toList());
    }

    @Override
    public String toString() {
        StringJoiner j = new StringJoiner("; ", "FaultInjector[", "]");
        for (Attr a : attrs.values()) {
            if (a.probability > 0 || a.failures() > 0) {
                j.add(a.toString());
            }
        }
        return j.toString();
    }
}
