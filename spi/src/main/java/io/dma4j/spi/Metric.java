package io.dma4j.spi;

import java.util.Objects;

/**
 * One figure dma4j reports: where it comes from, its name, unit, kind and meaning. The
 * figures of dma4j's own runtime and providers are the constants of {@link Metrics}; a
 * vendor provider defines its own the same way. The key under which statistics views,
 * {@code dmactl} and JSON show a metric is {@link #key()}: the source's prefix and the name.
 *
 * @param source  who keeps it
 * @param name    its name within the source ("iova.inUseGranules")
 * @param unit    what one unit is
 * @param kind    a counter only grows; a gauge is a current level
 * @param meaning one sentence for tables and documentation
 */
public record Metric(Source source, String name, Unit unit, Kind kind, String meaning) {
    /** Who keeps a metric, and the prefix of its key. */
    public enum Source {
        /** The runtime's statistics layer (no prefix). */
        RUNTIME(""),
        /** The device's mapping backend ("backend."). */
        BACKEND("backend."),
        /** The machine's bounce-buffer service ("bounce."). */
        BOUNCE("bounce."),
        /** The device itself: its DMA port (no prefix). */
        DEVICE("");

        private final String prefix;

        Source(String prefix) {
            this.prefix = prefix;
        }

        /** The key prefix. */
        public String prefix() {
            return prefix;
        }
    }

    /** What one unit of a metric is. */
    public enum Unit { CALLS, BYTES, GRANULES, SLOTS, PAGES, ENTRIES, EVENTS, FLAG, COUNT }

    /** Counter (only grows) or gauge (a current level, or a high-water mark). */
    public enum Kind { COUNTER, GAUGE }

    public Metric {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(unit, "unit");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(meaning, "meaning");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("metric name is empty");
        }
    }

    /** The key in statistics views: the source's prefix and the name ("backend.iova.inUseGranules"). */
    public String key() {
        return source.prefix() + name;
    }
}
