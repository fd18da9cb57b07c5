package io.dma4j.runtime;

import io.dma4j.api.DmaDirection;
import io.dma4j.spi.ReferenceBounceService;
import io.dma4j.platform.device.Device;
import io.dma4j.spi.BounceService;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.DmaRole;
import io.dma4j.spi.Metric;
import io.dma4j.spi.MetricSink;
import io.dma4j.spi.RoleContext;

import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bounce role for testing dma-direct's wiring: the SPI's reference bounce
 * service, counting its mappings.
 */
final class TestBounceProvider implements DmaProvider {
    /** A provider's own metric, defined as a vendor would. */
    static final Metric IN_USE = new Metric(Metric.Source.BOUNCE, "inUse", Metric.Unit.COUNT, Metric.Kind.GAUGE, "bounce buffers live");
    final AtomicLong maps = new AtomicLong();
    private final AtomicLong live = new AtomicLong();

    @Override
    public String name() {
        return "test-bounce";
    }

    @Override
    public String spiVersion() {
        return io.dma4j.spi.DmaSpi.VERSION;
    }

    @Override
    public Set<DmaRole> roles() {
        return Set.of(DmaRole.BOUNCE_SERVICE);
    }

    @Override
    public BounceService createBounceService(RoleContext ctx) {
        ReferenceBounceService ref = new ReferenceBounceService(ctx.machine());
        return new BounceService() {
            @Override
            public long map(Device d, long orig, long size, long alignMask, long offsetMask, DmaDirection dir, int attrs) {
                long b = ref.map(d, orig, size, alignMask, offsetMask, dir, attrs);
                maps.incrementAndGet();
                live.incrementAndGet();
                return b;
            }

            @Override
            public void unmap(Device d, long b, long size, DmaDirection dir, int attrs) {
                ref.unmap(d, b, size, dir, attrs);
                live.decrementAndGet();
            }

            @Override
            public void syncForCpu(Device d, long b, long size, DmaDirection dir) {
                ref.syncForCpu(d, b, size, dir);
            }

            @Override
            public void syncForDevice(Device d, long b, long size, DmaDirection dir) {
                ref.syncForDevice(d, b, size, dir);
            }

            @Override
            public boolean isBounce(long phys) {
                return ref.isBounce(phys);
            }

            @Override
            public long maxMappingSize(Device d) {
                return ref.maxMappingSize(d);
            }

            @Override
            public void gauges(MetricSink out) {
                out.put(IN_USE, live.get());
            }
        };
    }
}
