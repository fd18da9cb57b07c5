package io.dma4j.spi;

import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMappingException;
import io.dma4j.platform.Machine;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.memory.PageAllocationException;
import io.dma4j.platform.memory.PageAllocator;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A plain, correct bounce role: one page block below 4 GiB per mapping, the kernel's copy
 * directions. The conformance kit gives it to a mapping backend under test, which keeps
 * the backend's tests independent of any bounce provider's quality; tests of backends
 * and of the runtime use it the same way.
 *
 * <p>Thread safety: safe for concurrent use.
 */
public final class ReferenceBounceService implements BounceService {
    private record Live(long orig, long size, long block) {
    }

    private final Machine machine;
    private final Map<Long, Live> live = new ConcurrentHashMap<>();

    /** A bounce role over the machine's page allocator. */
    public ReferenceBounceService(Machine machine) {
        this.machine = machine;
    }

    @Override
    public long map(Device device, long orig, long size, long allocAlignMask, long offsetMask, DmaDirection dir, int attrs) {
        if (size > 256 * 1024) {
            throw new DmaMappingException(device.name(), orig, size, "larger than the reference bounce buffer's 256 KiB");
        }
        long keep = orig & (device.attributes().minAlignMask() | offsetMask | allocAlignMask) & 0xFFF;
        long block;
        try {
            block = machine.pageAllocator().allocPages(PageAllocator.orderFor(size + keep), 1L << 32);
        } catch (PageAllocationException e) {
            throw new DmaMappingException(device.name(), orig, size, "bounce buffer full: " + e.getMessage());
        }
        long b = block + keep;
        live.put(b, new Live(orig, size, block));
        machine.addressSpace().copy(orig, b, size);
        return b;
    }

    @Override
    public void unmap(Device device, long b, long size, DmaDirection dir, int attrs) {
        Live l = live.remove(b);
        if (l == null) {
            throw new IllegalStateException(String.format("0x%x is not a live reference bounce buffer", b));
        }
        if (dir.deviceWrites() && (attrs & DmaAttrs.SKIP_CPU_SYNC) == 0) {
            machine.addressSpace().copy(b, l.orig, size);
        }
        machine.pageAllocator().freePages(l.block);
    }

    @Override
    public void syncForCpu(Device device, long b, long size, DmaDirection dir) {
        if (dir.deviceWrites()) {
            machine.addressSpace().copy(b, originalOf(b), size);
        }
    }

    @Override
    public void syncForDevice(Device device, long b, long size, DmaDirection dir) {
        if (dir.deviceReads()) {
            machine.addressSpace().copy(originalOf(b), b, size);
        }
    }

    private long originalOf(long b) {
        for (Map.Entry<Long, Live> e : live.entrySet()) {
            if (b >= e.getKey() && b < e.getKey() + e.getValue().size) {
                return e.getValue().orig + (b - e.getKey());
            }
        }
        throw new IllegalStateException(String.format("0x%x is not in a live reference bounce buffer", b));
    }

    @Override
    public boolean isBounce(long phys) {
        for (Map.Entry<Long, Live> e : live.entrySet()) {
            if (phys >= e.getKey() && phys < e.getKey() + e.getValue().size) {
                return true;
            }
        }
        return false;
    }

    @Override
    public long maxMappingSize(Device device) {
        return 256 * 1024;
    }
}
