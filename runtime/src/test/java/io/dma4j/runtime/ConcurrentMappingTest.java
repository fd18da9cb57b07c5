package io.dma4j.runtime;

import io.dma4j.runtime.testing.Bytes;
import io.dma4j.api.DmaMapper;
import io.dma4j.platform.Machine;
import io.dma4j.platform.device.CopyEngine;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static io.dma4j.api.DmaDirection.FROM_DEVICE;
import static io.dma4j.api.DmaDirection.TO_DEVICE;
import static org.assertj.core.api.Assertions.assertThat;

/** Two threads share one device's mapper, with debug tracking and statistics on. */
class ConcurrentMappingTest {
    @Test
    void concurrentMappingsKeepBytesCountersAndTrackingConsistent() throws Exception {
        try (Machine machine = Machine.createDefault();
             DmaRuntime rt = DmaRuntime.builder().machine(machine).config(RuntimeConfig.defaults()).build()) {
            DmaMapper m = rt.mapper("dmatest0");
            int threads = 2;
            int rounds = 2000;
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<Long>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                results.add(pool.submit(() -> {
                    long src = machine.pageAllocator().allocPages(0);
                    long dst = machine.pageAllocator().allocPages(0);
                    long bad = 0;
                    for (int r = 0; r < rounds; r++) {
                        long seed = id * 1_000_000L + r;
                        Bytes.fill(machine.addressSpace(), src, 256, seed);
                        long s = m.mapPhys(src, 256, TO_DEVICE, 0);
                        long d = m.mapPhys(dst, 256, FROM_DEVICE, 0);
                        // the copy engine is one device: its doorbell serialises the two threads
                        synchronized (machine.device("dmatest0")) {
                            CopyEngine.copy(machine.addressSpace(), machine.device("dmatest0").bar(0), s, d, 256);
                        }
                        m.unmapPhys(d, 256, FROM_DEVICE, 0);
                        m.unmapPhys(s, 256, TO_DEVICE, 0);
                        if (Bytes.mismatch(machine.addressSpace(), dst, 256, seed) >= 0) {
                            bad++;
                        }
                    }
                    return bad;
                }));
            }
            for (Future<Long> f : results) {
                assertThat(f.get()).isZero();
            }
            pool.shutdown();
            Map<String, Long> s = rt.statistics("dmatest0").asMap();
            assertThat(s).containsEntry("maps", (long) threads * rounds * 2).containsEntry("unmaps", (long) threads * rounds * 2)
                    .containsEntry("liveBytes", 0L).containsEntry("faults", 0L);
            assertThat(rt.liveMappings("dmatest0")).isZero();
            assertThat(rt.debugReports()).isEmpty();
        }
    }
}
