package io.dma4j.runtime;

import io.dma4j.spi.Metric;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A view of one device's figures at one moment: the runtime's counters, the backend's and
 * the bounce pool's gauges, the device's traffic and faults, each under its
 * {@link Metric} (see {@link io.dma4j.spi.Metrics}). Not atomic across metrics.
 *
 * <p>Thread safety: immutable.
 */
public final class Statistics {
    private final String device;
    private final Map<Metric, Long> values;

    Statistics(String device, Map<Metric, Long> values) {
        this.device = device;
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /** The device's name. */
    public String device() {
        return device;
    }

    /**
     * The value of a metric.
     *
     * @throws IllegalArgumentException when this view has no such metric (for example a
     *                                  backend gauge of another backend)
     */
    public long get(Metric metric) {
        Long v = values.get(metric);
        if (v == null) {
            throw new IllegalArgumentException("device " + device + " reports no metric " + metric.key() + " (it reports: " + asMap().keySet() + ")");
        }
        return v;
    }

    /** Whether this view has the metric. */
    public boolean has(Metric metric) {
        return values.containsKey(metric);
    }

    /** The metrics and values, in the catalogue's order. */
    public Map<Metric, Long> values() {
        return values;
    }

    /** The values by {@link Metric#key()} ("backend.iova.inUseGranules"), as dmactl and JSON show them. */
    public Map<String, Long> asMap() {
        Map<String, Long> m = new LinkedHashMap<>();
        values.forEach((k, v) -> m.put(k.key(), v));
        return m;
    }

    @Override
    public String toString() {
        return "Statistics[" + device + " " + asMap() + "]";
    }
}
