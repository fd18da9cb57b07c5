package io.dma4j.runtime;

import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMappingException;
import io.dma4j.platform.Machine;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.memory.PageAllocationException;
import io.dma4j.platform.memory.PageAllocator;
import io.dma4j.spi.BounceService;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.DmaRole;
import io.dma4j.spi.RoleContext;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A minimal bounce role for testing dma-direct's wiring: one page block below 4 GiB per
 * mapping, the kernel's copy directions, and a cap on blocks to exercise "full".
 */
final class TestBounceProvider implements DmaProvider {
    final AtomicLong maps = new AtomicLong();
    private final int maxBlocks;

    TestBounceProvider(int maxBlocks) {
        this.maxBlocks = maxBlocks;
    }

    @Override
    public String name() {
        return "test-bounce";
    }

    @Override
    public Set<DmaRole> roles() {
        return Set.of(DmaRole.BOUNCE_SERVICE);
    }

    @Override
    public BounceService createBounceService(RoleContext ctx) {
        Machine m = ctx.machine();
        return new BounceService() {
            private final Map<Long, long[]> live = new ConcurrentHashMap<>(); // bounce -> {orig, size}

            @Override
            public long map(Device device, long orig, long size, long alignMask, long offsetMask, DmaDirection dir, int attrs) {
                if (live.size() >= maxBlocks) {
                    throw new DmaMappingException(device.name(), orig, size, "bounce buffer full (" + maxBlocks + " blocks in use)");
                }
                long b;
                try {
                    b = m.pageAllocator().allocPages(PageAllocator.orderFor(size + (orig & 0xFFF)), 1L << 32) + (orig & 0xFFF);
                } catch (PageAllocationException e) {
                    throw new DmaMappingException(device.name(), orig, size, "bounce buffer full: " + e.getMessage());
                }
                live.put(b, new long[] {orig, size});
                m.addressSpace().copy(orig, b, size);
                maps.incrementAndGet();
                return b;
            }

            @Override
            public void unmap(Device device, long b, long size, DmaDirection dir, int attrs) {
                long[] e = live.remove(b);
                if (e == null) {
                    throw new IllegalStateException("not a live bounce buffer: " + Long.toHexString(b));
                }
                if (dir.deviceWrites() && (attrs & DmaAttrs.SKIP_CPU_SYNC) == 0) {
                    m.addressSpace().copy(b, e[0], size);
                }
                m.pageAllocator().freePages(b & ~0xFFFL);
            }

            @Override
            public void syncForCpu(Device device, long b, long size, DmaDirection dir) {
                if (dir.deviceWrites()) {
                    m.addressSpace().copy(b, origOf(b), size);
                }
            }

            @Override
            public void syncForDevice(Device device, long b, long size, DmaDirection dir) {
                if (dir.deviceReads()) {
                    m.addressSpace().copy(origOf(b), b, size);
                }
            }

            private long origOf(long b) {
                for (Map.Entry<Long, long[]> e : live.entrySet()) {
                    if (b >= e.getKey() && b < e.getKey() + e.getValue()[1]) {
                        return e.getValue()[0] + (b - e.getKey());
                    }
                }
                throw new IllegalStateException("not in a bounce buffer: " + Long.toHexString(b));
            }

            @Override
            public boolean isBounce(long phys) {
                for (Map.Entry<Long, long[]> e : live.entrySet()) {
                    if (phys >= e.getKey() && phys < e.getKey() + e.getValue()[1]) {
                        return true;
                    }
                }
                return false;
            }

            @Override
            public long maxMappingSize(Device device) {
                return 256 * 1024;
            }

            @Override
            public Map<String, Long> gauges() {
                return Map.of("inUse", (long) live.size());
            }
        };
    }
}
