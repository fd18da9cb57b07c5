package io.dma4j.provider.direct;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMappingException;
import io.dma4j.api.MisuseCheck;
import io.dma4j.platform.Machine;
import io.dma4j.platform.memory.PageAllocationException;
import io.dma4j.platform.memory.PageAllocator;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.spi.BackendContext;
import io.dma4j.spi.BounceService;
import io.dma4j.spi.AbstractMappingBackend;

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
 * <li>scatter lists map entry by entry and never merge ({@link AbstractMappingBackend});
 *     peer-memory entries are classified by the P2P role (bus addresses are marked and
 *     skipped at unmap);</li>
 * <li>no two-step support ({@link #twoStep()} is null): the runtime answers
 *     {@code iovaTryAlloc} with false, as the kernel does for dma-direct.</li>
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
        this.space = machine.addressSpace();
        this.pages = machine.pageAllocator();
        this.offset = device.attributes().rangeOffset();
        this.forceBounce = machine.encryptedMemory() || ctx.settings().getBoolean("forceBounce", false);
        ctx.detachTranslation(); // identity + range offset
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
            throw new DmaApiMisuseException(name, MisuseCheck.FREE_COHERENT_NEVER_ALLOCATED,
                    String.format("device driver tries to free DMA memory it has not allocated [device address=0x%x] [size=%d bytes]", dma, size));
        }
        pages.freePages(phys);
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

    /** Addressing-limited when the mask is below the required one, or when every mapping bounces (encryption, forceBounce). */
    @Override
    public boolean addressingLimited(long mask) {
        return forceBounce || super.addressingLimited(mask);
    }

    @Override
    public long maxMappingSize() {
        return bounce != null && addressingLimited(device.dmaMask()) ? bounce.maxMappingSize(device) : Long.MAX_VALUE;
    }

    /**
     * {@code dma_direct_supported}: a mask of 32 bits or more, or one that covers all RAM
     * (the kernel's zone-DMA rule reduced to the model's single zone).
     */
    @Override
    public boolean dmaSupported(long mask) {
        return Long.compareUnsigned(mask, 0xFFFF_FFFFL) >= 0 || Long.compareUnsigned(mask, requiredMask()) >= 0;
    }

}
