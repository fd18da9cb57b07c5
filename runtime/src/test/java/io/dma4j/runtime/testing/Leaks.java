package io.dma4j.runtime.testing;

import io.dma4j.platform.Machine;
import io.dma4j.runtime.DmaRuntime;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a flow must give back, for fault-injection walks and leak checks: per device the
 * live mappings DMA-debug tracks, the IOVA granules in use and the bounce slots used (where
 * the backend reports them), then the machine's allocated pages and the DMA-debug reports.
 * Compare a snapshot after each run with one taken before (advance the clock past any
 * flush-queue timeout first).
 */
public final class Leaks {
    private Leaks() {
    }

    /** The figures for these devices, by name ("nvme0 live mappings" -> 0, ..., "pages allocated" -> n). */
    public static Map<String, Long> figures(DmaRuntime rt, Machine machine, String... devices) {
        Map<String, Long> f = new LinkedHashMap<>();
        for (String dev : devices) {
            Map<String, Long> st = rt.statistics(dev).asMap();
            f.put(dev + " live mappings", (long) rt.liveMappings(dev));
            f.put(dev + " IOVA granules in use", st.getOrDefault("backend.iova.inUseGranules", 0L));
            f.put(dev + " bounce slots used", st.getOrDefault("bounce.slots.used", 0L));
        }
        f.put("pages allocated", machine.pageAllocator().allocatedPages());
        f.put("debug reports", (long) rt.debugReports().size());
        return f;
    }
}
