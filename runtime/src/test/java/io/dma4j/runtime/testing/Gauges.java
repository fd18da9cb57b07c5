package io.dma4j.runtime.testing;

import io.dma4j.spi.BounceService;

import java.util.LinkedHashMap;
import java.util.Map;

/** A bounce service's gauges by metric name (without the source prefix), for assertions in tests. */
public final class Gauges {
    private Gauges() {
    }

    /** The bounce service's gauges ("slots.used" -> 0, ...). */
    public static Map<String, Long> of(BounceService b) {
        Map<String, Long> m = new LinkedHashMap<>();
        b.gauges((metric, value) -> m.put(metric.name(), value));
        return m;
    }
}
