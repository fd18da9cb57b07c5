package io.dma4j.runtime;

import io.dma4j.api.DmaMapper;
import io.dma4j.platform.Machine;
import io.dma4j.platform.device.Device;
import io.dma4j.spi.MappingBackend;
import io.dma4j.spi.MetricSink;
import io.dma4j.spi.P2pClassifier;

/**
 * One device's chain of layers: argument validation → DMA-debug (optional) → statistics
 * (optional) → JFR events (optional) → the backend, each its own small class. {@link DmaRuntime} builds one per
 * device and hands out only its head. {@link #bare} gives the last layer alone, for
 * conformance kits and tests that build a backend through the SPI themselves.
 *
 * <p>Thread safety: immutable; the layers state their own rules.
 */
public final class MapperChain {
    private final ValidatingMapper head;
    private final BackendMapper bottom;
    private final DebugMapper debug;
    private final StatsMapper stats;

    private MapperChain(ValidatingMapper head, BackendMapper bottom, DebugMapper debug, StatsMapper stats) {
        this.head = head;
        this.bottom = bottom;
        this.debug = debug;
        this.stats = stats;
    }

    static MapperChain build(Machine machine, Device.Control control, P2pClassifier p2p, MappingBackend backend,
                             DmaDebug tracker, DeviceStatistics counters, String jfrBackendName) {
        BackendMapper bottom = new BackendMapper(machine, control, p2p, backend);
        DmaMapper top = jfrBackendName == null ? bottom : new JfrMapper(bottom, jfrBackendName);
        StatsMapper stats = counters == null ? null : new StatsMapper(top, counters);
        top = stats == null ? top : stats;
        DebugMapper debug = tracker == null ? null : new DebugMapper(top, tracker);
        top = debug == null ? top : debug;
        return new MapperChain(new ValidatingMapper(top), bottom, debug, stats);
    }

    /**
     * The driver API straight on a backend, with no validation, DMA-debug or statistics: the
     * runtime's generic layer only (masks, P2P classification, try-alloc answering false
     * without two-step support). For conformance kits and backend tests; drivers get
     * mappers from {@link DmaRuntime#mapper}.
     *
     * @param machine the machine
     * @param control the device's control (the same one the backend's context has)
     * @param p2p     the P2P classifier, or {@code null}
     * @param backend the backend, built through the SPI
     */
    public static DmaMapper bare(Machine machine, Device.Control control, P2pClassifier p2p, MappingBackend backend) {
        return new BackendMapper(machine, control, p2p, backend);
    }

    DmaMapper head() {
        return head;
    }

    MappingBackend backend() {
        return bottom.backend();
    }

    int liveMappings() {
        return debug == null ? 0 : debug.tracker().liveMappings();
    }

    /** The runtime's counters (when on) and the backend's gauges. */
    void writeTo(MetricSink out) {
        if (stats != null) {
            stats.statistics().writeTo(out);
        }
        bottom.backend().gauges(out);
    }

    /**
     * Releases the device: reports leaked mappings (the kernel's check when a driver is
     * unbound) and lets the backend detach.
     *
     * @throws io.dma4j.api.DmaApiMisuseException in throwing debug mode when mappings are
     *                                            still live (the backend is released all the same)
     */
    void release(String why) {
        head.refuseFromNowOn(why);
        try {
            if (debug != null) {
                debug.tracker().checkLeaks();
            }
        } finally {
            bottom.backend().release();
        }
    }

    @Override
    public String toString() {
        return "MapperChain[" + head + "]";
    }
}
