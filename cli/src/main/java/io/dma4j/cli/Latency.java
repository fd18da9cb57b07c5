package io.dma4j.cli;

import org.HdrHistogram.Histogram;

/**
 * A latency recorder: an HdrHistogram of nanoseconds with three significant digits, up to
 * {@value #HIGHEST_NS} ns (a longer value is recorded as that). Recording allocates nothing.
 *
 * <p>Thread safety: one recording thread; merge per-thread recorders with {@link #add}.
 */
final class Latency {
    /** The largest value kept apart (60 s). */
    static final long HIGHEST_NS = 60_000_000_000L;

    private final Histogram histogram = new Histogram(HIGHEST_NS, 3);

    /** Records one latency in nanoseconds. */
    void record(long ns) {
        histogram.recordValue(Math.min(Math.max(ns, 0), HIGHEST_NS));
    }

    /** Adds another recorder's values. */
    void add(Latency other) {
        histogram.add(other.histogram);
    }

    /** Values recorded. */
    long count() {
        return histogram.getTotalCount();
    }

    /** The distribution so far (0 everywhere when nothing was recorded). */
    Summary summary() {
        if (histogram.getTotalCount() == 0) {
            return new Summary(0, 0, 0, 0, 0, 0, 0, 0);
        }
        return new Summary(histogram.getTotalCount(), histogram.getMean(), histogram.getStdDeviation(), histogram.getValueAtPercentile(50),
                histogram.getValueAtPercentile(90), histogram.getValueAtPercentile(99), histogram.getValueAtPercentile(99.9), histogram.getMaxValue());
    }

    /**
     * The distribution in power-of-two buckets from 16 ns: each entry is the bucket's upper
     * bound in ns and the number of values in it (for the report's histograms).
     */
    java.util.List<long[]> logBuckets() {
        java.util.List<long[]> out = new java.util.ArrayList<>();
        if (histogram.getTotalCount() == 0) {
            return out;
        }
        for (org.HdrHistogram.HistogramIterationValue v : histogram.logarithmicBucketValues(16, 2.0)) {
            out.add(new long[] {v.getValueIteratedTo(), v.getCountAddedInThisIterationStep()});
        }
        return out;
    }

    /**
     * A latency distribution in nanoseconds, from the histogram (values within 0.1 %).
     *
     * @param p999 the 99.9th percentile
     */
    record Summary(long count, double mean, double stddev, long p50, long p90, long p99, long p999, long max) {
        /** One line for tables: {@code p50 1,234  p90 ...  max ... ns (n samples)}. */
        String describe() {
            return String.format(java.util.Locale.ROOT, "p50 %,d  p90 %,d  p99 %,d  p99.9 %,d  max %,d ns (%,d samples)", p50, p90, p99, p999, max, count);
        }
    }

    /** A duration for axis labels: "512 ns", "16 µs", "2 ms". */
    static String nanos(long ns) {
        if (ns < 1_000) {
            return ns + " ns";
        }
        return ns < 1_000_000 ? Math.round(ns / 1e3) + " µs" : Math.round(ns / 1e6) + " ms";
    }
}
