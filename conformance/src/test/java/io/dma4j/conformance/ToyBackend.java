package io.dma4j.conformance;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.MisuseCheck;
import io.dma4j.api.DmaMappingException;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.Machine;
import io.dma4j.platform.device.DmaAccess;
import io.dma4j.platform.device.DmaTranslation;
import io.dma4j.platform.device.FaultReason;
import io.dma4j.platform.memory.PageAllocator;
import io.dma4j.spi.BackendContext;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.DmaRole;
import io.dma4j.spi.AbstractMappingBackend;
import io.dma4j.spi.MappingBackend;

import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Small backends for testing the kit itself: a correct one and deliberately broken ones.
 * {@code translating} gives the device a page map of its own (an IOMMU in miniature).
 */
final class ToyBackend extends AbstractMappingBackend implements DmaTranslation {
    enum Flaw {
        NONE, IGNORES_MASK, FORGETS_TO_FLUSH, REUSES_IOVA,
        /** Sizes IOVA by the pages of the size alone, forgetting the offset in the first page: a buffer that starts mid-page overlaps the next mapping. */
        ROUNDS_DOWN,
        /** Allocates coherent memory wherever the page allocator likes, above the coherent mask too. */
        COHERENT_IGNORES_MASK,
        /** Accepts an unmap of any address, mapped or not. */
        UNMAPS_ANYTHING
    }

    /** A provider of toy backends. */
    record Provider(String name, boolean translating, Flaw flaw) implements DmaProvider {
        @Override
        public String spiVersion() {
            return io.dma4j.spi.DmaSpi.VERSION;
        }

        @Override
        public Set<DmaRole> roles() {
            return Set.of(DmaRole.MAPPING_BACKEND);
        }

        @Override
        public MappingBackend createBackend(BackendContext ctx) {
            return new ToyBackend(ctx, translating, flaw);
        }
    }

    private static final long IOVA_BASE = 0x1000_0000L; // below 4 GiB, so the mask rule holds
    private final Machine machine;
    private final boolean translating;
    private final Flaw flaw;
    private final Map<Long, Long> pages = new ConcurrentHashMap<>(); // iova page -> phys page
    private final AtomicLong next = new AtomicLong(IOVA_BASE);
    private final ThreadLocal<long[]> perThreadNext = ThreadLocal.withInitial(() -> new long[] {IOVA_BASE});

    ToyBackend(BackendContext ctx, boolean translating, Flaw flaw) {
        super(ctx);
        this.machine = ctx.machine();
        this.translating = translating;
        this.flaw = flaw;
        if (translating) {
            ctx.attachTranslation(this);
        }
    }

    @Override
    public long translate(long bus, DmaAccess access) {
        Long phys = pages.get(bus >>> 12);
        return phys == null ? FaultReason.NOT_MAPPED.code() : phys + (bus & 0xFFF);
    }

    @Override
    public String describe() {
        return "toy";
    }

    @Override
    public String providerName() {
        return "toy";
    }

    @Override
    public long mapPhys(long phys, long size, DmaDirection dir, int attrs) {
        if (!translating) {
            if (flaw != Flaw.IGNORES_MASK && Long.compareUnsigned(phys + size - 1, device.dmaMask()) > 0) {
                throw new DmaMappingException(device.name(), phys, size, "above the mask");
            }
            return phys;
        }
        long off = phys & 0xFFF;
        long n = flaw == Flaw.ROUNDS_DOWN ? (size + 0xFFF) >>> 12 : (size + off + 0xFFF) >>> 12; // the flaw forgets the offset
        long iova;
        if (flaw == Flaw.REUSES_IOVA) {
            long[] cursor = perThreadNext.get(); // each thread counts from the same base: IOVAs are handed out twice
            iova = cursor[0];
            cursor[0] += n << 12;
        } else {
            iova = next.getAndAdd(n << 12);
        }
        for (long i = 0; i < n; i++) {
            pages.put((iova >>> 12) + i, (phys & ~0xFFFL) + (i << 12));
        }
        return iova + off;
    }

    @Override
    public void unmapPhys(long dma, long size, DmaDirection dir, int attrs) {
        if (!translating) {
            return;
        }
        if (flaw != Flaw.UNMAPS_ANYTHING && !pages.containsKey(dma >>> 12)) {
            throw new DmaApiMisuseException(device.name(), MisuseCheck.IOMMU_UNMAP_NOT_MAPPED, String.format("unmap of 0x%x: nothing mapped", dma));
        }
        if (flaw == Flaw.FORGETS_TO_FLUSH) {
            return;
        }
        long n = (size + (dma & 0xFFF) + 0xFFF) >>> 12;
        for (long i = 0; i < n; i++) {
            pages.remove((dma >>> 12) + i);
        }
    }

    @Override
    public int mapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        for (int i = 0; i < nents; i++) {
            sg.setDma(i, mapPhys(sg.phys(i), sg.length(i), dir, attrs), sg.length(i), 0);
        }
        return nents;
    }

    @Override
    public void unmapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        for (int i = 0; i < nents; i++) {
            unmapPhys(sg.dmaAddress(i), sg.dmaLength(i), dir, attrs);
        }
    }

    @Override
    public void syncForCpu(long dma, long size, DmaDirection dir) {
    }

    @Override
    public void syncForDevice(long dma, long size, DmaDirection dir) {
    }

    @Override
    public void syncSgForCpu(ScatterList sg, int nents, DmaDirection dir) {
    }

    @Override
    public void syncSgForDevice(ScatterList sg, int nents, DmaDirection dir) {
    }

    @Override
    public CoherentBuffer allocCoherent(long size, int attrs) {
        long phys = flaw == Flaw.COHERENT_IGNORES_MASK
                ? machine.pageAllocator().allocPages(PageAllocator.orderFor(size), 5L << 30, Long.MAX_VALUE)
                : machine.pageAllocator().allocPages(PageAllocator.orderFor(size), 1L << 32);
        return new CoherentBuffer(machine.addressSpace().view(phys, size), mapPhys(phys, size, DmaDirection.BIDIRECTIONAL, 0), phys, size);
    }

    @Override
    public void freeCoherent(long size, MemorySegment cpu, long dma) {
        unmapPhys(dma, size, DmaDirection.BIDIRECTIONAL, 0);
    }

    @Override
    public boolean needUnmap() {
        return translating;
    }

    @Override
    public boolean needSync(long dma) {
        return false;
    }

    @Override
    public long requiredMask() {
        return -1L;
    }

}
