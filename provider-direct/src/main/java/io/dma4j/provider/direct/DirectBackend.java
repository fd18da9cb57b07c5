package io.dma4j.provider.direct;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMappingException;
import io.dma4j.api.IovaState;
import io.dma4j.api.P2pMapType;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.Machine;
import io.dma4j.platform.memory.PageAllocationException;
import io.dma4j.platform.memory.PageAllocator;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.platform.pci.Bar;
import io.dma4j.spi.BackendContext;
import io.dma4j.spi.BounceService;
import io.dma4j.spi.AbstractMappingBackend;
import io.dma4j.spi.P2pClassifier;
import io.dma4j.spi.PeerMemory;

import java.lang.foreign.MemorySegment;

/**
 * dma-direct for one device ({@code kernel/dma/direct.c}, {@code direct.h}):
 * <ul>
 * <li>RAM maps to physical address + the device's range offset when the whole range is
 *     under the streaming mask; otherwise, or when bouncing is forced (configuration or
 *     encrypted memory), it bounces through the bounce role, and fails with a
 *     {@link DmaMappingException} when there is none;</li>
 * <li>{@link DmaAttrs#MMIO} ranges map to their physical address unchanged and are never
 *     bounced;</li>
 * <li>scatter lists map entry by entry and never merge; peer-memory entries are
 *     classified by the P2P role (bus addresses are marked and skipped at unmap);</li>
 * <li>the two-step calls are not available: {@link #iovaTryAlloc} answers false.</li>
 * </ul>
 * CPU caches are not modelled, so a non-coherent device differs from a coherent one only
 * in what {@link #needSync} and {@link #needUnmap} answer.
 *
 * <p>Thread safety: safe for concurrent use.
 */
final class DirectBackend extends AbstractMappingBackend {
    private final Machine machine;
    private final String name;
    private final BounceService bounce;
    private final P2pClassifier p2p;
    private final PhysicalAddressSpace space;
    private final PageAllocator pages;
    private final long offset;
    private final boolean forceBounce;
    /** The kernel's dma_skip_sync turned off: set by the first bounced mapping. */
    private volatile boolean bounced;

    DirectBackend(BackendContext ctx) {
        super(ctx);
        this.machine = ctx.machine();
        this.name = device.name();
        this.bounce = ctx.bounce();
        this.p2p = ctx.p2p();
        this.space = machine.addressSpace();
        this.pages = machine.pageAllocator();
        this.offset = device.attributes().rangeOffset();
        this.forceBounce = machine.encryptedMemory() || ctx.settings().getBoolean("forceBounce", false);
        device.port().detach(); // identity + range offset
    }

    @Override
    public String providerName() {
        return DirectProvider.NAME;
    }

    // ---------------------------------------------------------------- streaming

    @Override
    public long mapPhys(long phys, long size, DmaDirection dir, int attrs) {
        if ((attrs & DmaAttrs.MMIO) != 0) {
            if (forceBounce) {
                throw new DmaMappingException(name, phys, size, "MMIO cannot be bounced and this device must bounce every mapping"
                        + (machine.encryptedMemory() ? " (encrypted memory)" : " (forceBounce)"));
            }
            if (!capable(phys, size)) {
                throw overflow(phys, size, "DMA address overflow for MMIO");
            }
            return phys;
        }
        long dma = phys + offset;
        if (forceBounce || !capable(dma, size)) {
            return bounceMap(phys, size, dir, attrs);
        }
        return dma;
    }

    @Override
    public void unmapPhys(long dma, long size, DmaDirection dir, int attrs) {
        if ((attrs & DmaAttrs.MMIO) != 0) {
            return;
        }
        long phys = dma - offset;
        if (bounce != null && bounce.isBounce(phys)) {
            bounce.unmap(device, phys, size, dir, attrs);
        }
    }

    @Override
    public void syncForCpu(long dma, long size, DmaDirection dir) {
        long phys = dma - offset;
        if (bounce != null && bounce.isBounce(phys)) {
            bounce.syncForCpu(device, phys, size, dir);
        }
    }

    @Override
    public void syncForDevice(long dma, long size, DmaDirection dir) {
        long phys = dma - offset;
        if (bounce != null && bounce.isBounce(phys)) {
            bounce.syncForDevice(device, phys, size, dir);
        }
    }

    private long bounceMap(long phys, long size, DmaDirection dir, int attrs) {
        if ((attrs & DmaAttrs.REQUIRE_COHERENT) != 0) {
            throw new DmaMappingException(name, phys, size, "REQUIRE_COHERENT is set but the mapping would need bouncing"
                    + String.format(" (mask 0x%x)", device.dmaMask()));
        }
        if (bounce == null) {
            throw new DmaMappingException(name, phys, size, forceBounce
                    ? "every mapping must bounce (" + (machine.encryptedMemory() ? "encrypted memory" : "forceBounce") + ") and no bounce-buffer provider is installed"
                    : String.format("bus address 0x%x + 0x%x is above the DMA mask 0x%x and no bounce-buffer provider is installed",
                    phys + offset, size, device.dmaMask()));
        }
        long bouncePhys = bounce.map(device, phys, size, 0, 0, dir, attrs);
        long dma = bouncePhys + offset;
        if (!capable(dma, size)) {
            bounce.unmap(device, bouncePhys, size, dir, attrs | DmaAttrs.SKIP_CPU_SYNC);
            throw overflow(bouncePhys, size, "the bounce buffer itself is not addressable");
        }
        bounced = true;
        return dma;
    }

    private boolean capable(long dma, long size) {
        long last = dma + size - 1;
        return Long.compareUnsigned(last, dma) >= 0 && Long.compareUnsigned(last, device.dmaMask()) <= 0;
    }

    private DmaMappingException overflow(long phys, long size, String what) {
        return new DmaMappingException(name, phys, size, String.format("%s: bus address 0x%x + 0x%x exceeds the DMA mask 0x%x",
                what, phys + offset, size, device.dmaMask()));
    }

    // ---------------------------------------------------------------- scatter lists

    @Override
    public int mapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        for (int i = 0; i < nents; i++) {
            long phys = sg.phys(i);
            long len = sg.length(i);
            try {
                Bar peer = PeerMemory.barOf(machine, phys, len);
                if (peer != null) {
                    P2pMapType type = PeerMemory.classify(p2p, device, peer);
                    if (type == P2pMapType.BUS_ADDR) {
                        sg.setDma(i, phys - peer.cpuAddress() + peer.busAddress(), len, ScatterList.FLAG_BUS_ADDRESS);
                        continue;
                    }
                    if (type == P2pMapType.NOT_SUPPORTED) {
                        throw new DmaMappingException(name, phys, len, "peer memory " + peer.device() + ".bar" + peer.index()
                                + " is not reachable: " + PeerMemory.explain(p2p, device, peer) + " (-EREMOTEIO)");
                    }
                    sg.setDma(i, mapPhys(phys, len, dir, attrs | DmaAttrs.MMIO), len, 0);
                    continue;
                }
                sg.setDma(i, mapPhys(phys, len, dir, attrs), len, 0);
            } catch (RuntimeException e) {
                unmapSg(sg, i, dir, attrs | DmaAttrs.SKIP_CPU_SYNC);
                throw e;
            }
        }
        return nents;
    }

    @Override
    public void unmapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        for (int i = 0; i < nents; i++) {
            if ((sg.dmaFlags(i) & ScatterList.FLAG_BUS_ADDRESS) == 0) {
                unmapPhys(sg.dmaAddress(i), sg.dmaLength(i), dir, attrs);
            }
        }
    }

    @Override
    public void syncSgForCpu(ScatterList sg, int nents, DmaDirection dir) {
        for (int i = 0; i < nents; i++) {
            if ((sg.dmaFlags(i) & ScatterList.FLAG_BUS_ADDRESS) == 0) {
                syncForCpu(sg.dmaAddress(i), sg.dmaLength(i), dir);
            }
        }
    }

    @Override
    public void syncSgForDevice(ScatterList sg, int nents, DmaDirection dir) {
        for (int i = 0; i < nents; i++) {
            if ((sg.dmaFlags(i) & ScatterList.FLAG_BUS_ADDRESS) == 0) {
                syncForDevice(sg.dmaAddress(i), sg.dmaLength(i), dir);
            }
        }
    }

    // ---------------------------------------------------------------- coherent

    @Override
    public CoherentBuffer allocCoherent(long size, int attrs) {
        int order = PageAllocator.orderFor(size);
        long block = PageAllocator.PAGE_SIZE << order;
        long mask = device.coherentMask();
        long limit = mask == -1L || mask - offset + 1 < 0 ? Long.MAX_VALUE : mask - offset + 1;
        long phys;
        try {
            phys = pages.allocPages(order, limit);
        } catch (PageAllocationException e) {
            throw new DmaMappingException(name, 0, size, String.format("no free %d KiB block reachable under the coherent mask 0x%x: %s",
                    block >> 10, mask, e.getMessage()));
        }
        return new CoherentBuffer(space.view(phys, size), phys + offset, phys, size);
    }

    @Override
    public void freeCoherent(long size, MemorySegment cpu, long dma) {
        long phys = dma - offset;
        if (pages.orderOf(phys) < 0) {
            throw new DmaApiMisuseException(name, "free-coherent-never-allocated",
                    String.format("device driver tries to free DMA memory it has not allocated [device address=0x%x] [size=%d bytes]", dma, size));
        }
        pages.freePages(phys);
    }

    // ---------------------------------------------------------------- two-step: not with dma-direct

    @Override
    public boolean iovaTryAlloc(IovaState state, long phys, long size) {
        state.clear();
        return false;
    }

    @Override
    public void iovaLink(IovaState state, long phys, long offset, long size, DmaDirection dir, int attrs) {
        throw noIova("iovaLink");
    }

    @Override
    public void iovaSync(IovaState state, long offset, long size) {
        throw noIova("iovaSync");
    }

    @Override
    public void iovaUnlink(IovaState state, long offset, long size, DmaDirection dir, int attrs) {
        throw noIova("iovaUnlink");
    }

    @Override
    public void iovaDestroy(IovaState state, long mappedLen, DmaDirection dir, int attrs) {
        throw noIova("iovaDestroy");
    }

    @Override
    public void iovaFree(IovaState state) {
        throw noIova("iovaFree");
    }

    private DmaApiMisuseException noIova(String call) {
        return new DmaApiMisuseException(name, "iova-without-iommu",
                call + " on a device served by dma-direct, which has no IOVA space (iovaTryAlloc answers false here; use mapPhys per range)");
    }

    // ---------------------------------------------------------------- queries

    @Override
    public boolean needUnmap() {
        return !device.attributes().coherent() || bounced;
    }

    @Override
    public boolean needSync(long dma) {
        return !device.attributes().coherent() || (bounce != null && bounce.isBounce(dma - offset));
    }

    @Override
    public long maxMappingSize() {
        boolean mayBounce = forceBounce || Long.compareUnsigned(device.dmaMask(), requiredMask()) < 0;
        return bounce != null && mayBounce ? bounce.maxMappingSize(device) : Long.MAX_VALUE;
    }

    @Override
    public long optMappingSize() {
        return maxMappingSize();
    }

    @Override
    public long mergeBoundary() {
        return 0;
    }

    @Override
    public void setMask(long mask) {
        checkMask(mask);
        super.setMask(mask);
    }

    @Override
    public void setCoherentMask(long mask) {
        checkMask(mask);
        super.setCoherentMask(mask);
    }

    private void checkMask(long mask) {
        if (Long.compareUnsigned(mask, 0xFFFF_FFFFL) < 0 && Long.compareUnsigned(mask, requiredMask()) < 0) {
            throw new IllegalArgumentException(String.format("%s: DMA mask 0x%x: dma-direct accepts masks of 32 bits or more, or one that covers all RAM (0x%x)",
                    name, mask, requiredMask()));
        }
    }

    @Override
    public long requiredMask() {
        long top = 0;
        for (var r : space.dram()) {
            top = Math.max(top, r.end() - 1 + offset);
        }
        return top == 0 ? 0 : -1L >>> Long.numberOfLeadingZeros(top);
    }

}
