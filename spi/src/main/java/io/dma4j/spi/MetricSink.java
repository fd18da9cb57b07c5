package io.dma4j.spi;

/**
 * Where a provider writes its figures for a statistics view.
 *
 * <p>Thread safety: a sink is used by one thread for one view.
 */
@FunctionalInterface
public interface MetricSink {
    /** Records the current value of a metric. */
    void put(Metric metric, long value);
}
