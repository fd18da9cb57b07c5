package io.dma4j.conformance;

import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.platform.device.Device;
import io.dma4j.spi.BounceService;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.DmaRole;
import io.dma4j.spi.ReferenceBounceService;
import io.dma4j.spi.RoleContext;

import java.util.Set;

/** A bounce role for testing the kit: the reference one, or one that never copies back. */
record ToyBounceProvider(boolean copiesBack) implements DmaProvider {
    @Override
    public String name() {
        return "toy-bounce";
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
        if (copiesBack) {
            return ref;
        }
        return new BounceService() {
            @Override
            public long map(Device d, long orig, long size, long align, long keep, DmaDirection dir, int attrs) {
                return ref.map(d, orig, size, align, keep, dir, attrs);
            }

            @Override
            public void unmap(Device d, long b, long size, DmaDirection dir, int attrs) {
                ref.unmap(d, b, size, dir, attrs | DmaAttrs.SKIP_CPU_SYNC); // never copies back
            }

            @Override
            public void syncForCpu(Device d, long b, long size, DmaDirection dir) {
                // never copies back
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
        };
    }
}
