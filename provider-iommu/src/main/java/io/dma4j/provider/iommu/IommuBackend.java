package io.dma4j.provider.iommu;

import io.dma4j.platform.fault.FaultInjector;
import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMappingException;
import io.dma4j.api.IovaState;
import io.dma4j.api.MisuseCheck;
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
import io.dma4j.spi.IovaOps;
import io.dma4j.spi.MappingStates;
import io.dma4j.spi.MetricSink;
import io.dma4j.spi.P2pClassifier;
import io.dma4j.spi.PeerMemory;

import java.lang.foreign.MemorySegment;

/**
 * dma-iommu for one device ({@code drivers/iommu/dma-iommu.c}): the device's group domain
 * is attached to its DMA port; mappings allocate IOVA (PCI devices try below 4 GiB first),
 * write the page table and return {@code iova + offset}; unmaps clear the page table and
 * invalidate now (strict) or through the flush queue (lazy). Untrusted devices bounce
 * buffers whose start or length is not granule-aligned, with the padding zeroed. Scatter
 * lists get one IOVA range and are merged by the kernel's rules. The two-step calls work
 * as in 6.16: try-alloc reserves granule-rounded IOVA, link maps without flushing (and
 * bounces only the sub-granule head and tail of untrusted buffers), sync counts one
 * {@code iotlb_sync_map}, unlink invalidates at once, destroy unlinks and frees (deferred in
 * lazy mode).
 *
 * <p>Thread safety: safe for concurrent use on different mappings.
 */
final class IommuBackend extends AbstractMappingBackend implements IovaOps {
    /** Per-thread scratch for scatter-list layout, so mapping a list allocates nothing after warm-up. */
    private static final ThreadLocal<long[][]> SCRATCH = ThreadLocal.withInitial(() -> new long[][] {new long[64]});

    private final Machine machine;
    private final String name;
    private final IommuDomain domain;
    private final PageTable table;
    private final IovaAllocator iova;
    private final BounceService bounce;
    private final P2pClassifier p2p;
    private final PhysicalAddressSpace space;
    private final PageAllocator pages;
    private final FaultInjector faults;
    private final int shift;
    private final long granule;
    private final long gmask;
    private final boolean untrusted;
    private final boolean coherent;
    /** The kernel's pci_32bit_workaround: try below 4 GiB until that fails once. */
    private volatile boolean below4gFirst;

    IommuBackend(BackendContext ctx, IommuDomain domain, boolean forceDac) {
        super(ctx);
        this.machine = ctx.machine();
        this.name = device.name();
        this.domain = domain;
        this.table = domain.table();
        this.iova = domain.iova();
        this.bounce = ctx.bounce();
        this.p2p = ctx.p2p();
        this.space = machine.addressSpace();
        this.pages = machine.pageAllocator();
        this.faults = machine.faultInjector();
        table.setFaultInjector(faults);
        this.shift = domain.format().granuleShift;
        this.granule = 1L << shift;
        this.gmask = granule - 1;
        this.untrusted = device.attributes().untrusted();
        this.coherent = device.attributes().coherent();
        this.below4gFirst = device.slot() != null && !forceDac;
        if (device.attributes().minAlignMask() > gmask) {
            throw new IllegalStateException(String.format("%s: min align mask 0x%x is wider than the IOMMU granule mask 0x%x",
                    name, device.attributes().minAlignMask(), gmask));
        }
        ctx.attachTranslation(domain);
    }

    @Override
    public String providerName() {
        return IommuProvider.NAME;
    }

    @Override
    public void gauges(MetricSink out) {
        domain.gauges(out);
    }

    /** The two-step calls: this backend is the kernel's {@code use_dma_iommu()} case. */
    @Override
    public IovaOps twoStep() {
        return this;
    }

    /** The domain this device maps into. */
    IommuDomain domain() {
        return domain;
    }

    // ---------------------------------------------------------------- helpers

    private long align(long v) {
        return (v + gmask) & ~gmask;
    }

    private static long prot(DmaDirection dir) {
        return switch (dir) {
            case TO_DEVICE -> PageTable.READ;
            case FROM_DEVICE -> PageTable.WRITE;
            default -> PageTable.READ | PageTable.WRITE;
        };
    }

    /** {@code iommu_dma_alloc_iova}: IOVA bytes below the limit, 0 when none is left. */
    private long allocIova(long len, long dmaLimit) {
        if (faults.armed() && faults.shouldFail(FaultInjector.Point.IOVA_ALLOC, name)) {
            return INJECTED; // as an exhausted domain answers (iova_alloc), but said so in the error
        }
        long pagesNeeded = len >>> shift;
        long limit = Math.min(dmaLimit == -1L ? Long.MAX_VALUE : dmaLimit, domain.format().apertureEnd());
        long limitPfn = limit >>> shift;
        if (below4gFirst && limitPfn >= iova.dma32Pfn()) {
            long pfn = iova.allocFast(pagesNeeded, iova.dma32Pfn() - 1, false);
            if (pfn != 0) {
                return pfn << shift;
            }
            below4gFirst = false; // "Using N-bit DMA addresses" from now on
        }
        long pfn = iova.allocFast(pagesNeeded, limitPfn, true);
        return pfn << shift;
    }

    /** What {@link #allocIova} answers for an injected failure (any value below 1 means no IOVA). */
    private static final long INJECTED = -1;

    private DmaMappingException noIova(long got, long phys, long size, long limit) {
        return new DmaMappingException(name, phys, size, String.format("IOVA space exhausted below 0x%x (%d granules reserved)%s",
                limit, iova.treeGranules(), got == INJECTED ? ": injected failure (iova_alloc)" : ""));
    }

    private void mapOrThrow(long iovaAddr, long phys, long len, long prot, long forPhys, long forSize) {
        try {
            table.map(iovaAddr, phys, len, prot);
        } catch (IllegalStateException | IllegalArgumentException e) {
            throw new DmaMappingException(name, forPhys, forSize, "page-table map failed: " + e.getMessage());
        }
    }

    /** Zeroes the parts of the bounce granules around {@code [data, data+size)} (untrusted devices see no stale bytes). */
    private void zeroPadding(long data, long size) {
        long start = data & ~gmask;
        long end = align(data + size);
        if (data > start) {
            space.fill(start, data - start, (byte) 0);
        }
        if (end > data + size) {
            space.fill(data + size, end - data - size, (byte) 0);
        }
    }

    // ---------------------------------------------------------------- streaming

    @Override
    public long mapPhys(long phys, long size, DmaDirection dir, int attrs) {
        long p = phys;
        boolean bounced = false;
        if (untrusted && ((phys | size) & gmask) != 0) {
            if ((attrs & DmaAttrs.MMIO) != 0) {
                throw new DmaMappingException(name, phys, size, "an untrusted device's MMIO mapping would need bouncing, which MMIO cannot (-EPERM)");
            }
            if ((attrs & DmaAttrs.REQUIRE_COHERENT) != 0) {
                throw new DmaMappingException(name, phys, size, "REQUIRE_COHERENT is set but the untrusted device's unaligned buffer would need bouncing");
            }
            if (bounce == null) {
                throw new DmaMappingException(name, phys, size, "an untrusted device needs bounce buffers for a buffer that is not granule-aligned"
                        + " and no bounce-buffer provider is installed");
            }
            p = bounce.map(device, phys, size, gmask, 0, dir, attrs);
            zeroPadding(p, size);
            bounced = true;
        }
        long off = p & gmask;
        long len = align(size + off);
        long iovaAddr = allocIova(len, device.dmaMask());
        if (iovaAddr <= 0) {
            if (bounced) {
                bounce.unmap(device, p, size, dir, attrs | DmaAttrs.SKIP_CPU_SYNC);
            }
            throw noIova(iovaAddr, phys, size, device.dmaMask());
        }
        try {
            mapOrThrow(iovaAddr, p - off, len, prot(dir), phys, size);
        } catch (DmaMappingException e) {
            iova.freeFast(iovaAddr >>> shift, len >>> shift);
            if (bounced) {
                bounce.unmap(device, p, size, dir, attrs | DmaAttrs.SKIP_CPU_SYNC);
            }
            throw e;
        }
        return iovaAddr + off;
    }

    @Override
    public void unmapPhys(long dma, long size, DmaDirection dir, int attrs) {
        long off = dma & gmask;
        long start = dma - off;
        long len = align(size + off);
        // only untrusted devices bounce, so only they need the physical address back
        long phys = untrusted && bounce != null ? table.iovaToPhys(dma) : 0;
        long unmapped = table.unmap(start, len);
        if (unmapped == 0) {
            throw new DmaApiMisuseException(name, MisuseCheck.IOMMU_UNMAP_NOT_MAPPED, String.format("unmap of IOVA 0x%x (+%d bytes): nothing is mapped there", dma, size));
        }
        domain.retire(start, len);
        if (unmapped > len) {
            // x86-64 (generic_pt) removed a whole large page that the unmap started: the gather covers all of it
            domain.invalidate(start + len, unmapped - len);
        }
        if (untrusted && bounce != null && bounce.isBounce(phys)) {
            bounce.unmap(device, phys, size, dir, attrs);
        }
        if (unmapped != len) {
            throw new DmaApiMisuseException(name, MisuseCheck.IOMMU_UNMAP_SIZE, String.format(
                    "unmap of IOVA 0x%x (+%d bytes) found only %d bytes mapped from 0x%x (a size that differs from the mapping?)", dma, size, unmapped, start));
        }
    }

    @Override
    public void syncForCpu(long dma, long size, DmaDirection dir) {
        if (bounce != null) {
            long phys = table.iovaToPhys(dma);
            if (phys >= 0 && bounce.isBounce(phys)) {
                bounce.syncForCpu(device, phys, size, dir);
            }
        }
    }

    @Override
    public void syncForDevice(long dma, long size, DmaDirection dir) {
        if (bounce != null) {
            long phys = table.iovaToPhys(dma);
            if (phys >= 0 && bounce.isBounce(phys)) {
                bounce.syncForDevice(device, phys, size, dir);
            }
        }
    }

    // ---------------------------------------------------------------- scatter lists

    @Override
    public int mapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        if (untrusted) {
            for (int i = 0; i < nents; i++) {
                if (((sg.phys(i) | sg.length(i)) & gmask) != 0) {
                    return mapSgOneByOne(sg, nents, dir, attrs);
                }
            }
        }
        long boundary = device.attributes().segmentBoundaryMask();
        long[][] holder = SCRATCH.get();
        if (holder[0].length < nents) {
            holder[0] = new long[Math.max(nents, holder[0].length * 2)];
        }
        long[] pos = holder[0]; // IOVA offset of each entry's granule-aligned start, -1 for bus addresses
        long total = 0;
        for (int i = 0; i < nents; i++) {
            long phys = sg.phys(i);
            long len = sg.length(i);
            Bar peer = PeerMemory.barOf(machine, phys, len);
            if (peer != null) {
                P2pMapType type = PeerMemory.classify(p2p, device, peer);
                if (type == P2pMapType.NOT_SUPPORTED) {
                    throw PeerMemory.unreachable(p2p, device, peer, phys, len);
                }
                if (type == P2pMapType.BUS_ADDR) {
                    pos[i] = -1;
                    continue;
                }
            }
            long slen = align(len + (phys & gmask));
            if (boundary != -1L && (total & ~boundary) != ((total + slen - 1) & ~boundary)) {
                total = (total + boundary) & ~boundary; // pad so the segment does not straddle the boundary
            }
            pos[i] = total;
            total += slen;
        }
        long base = 0;
        if (total > 0) {
            base = allocIova(total, device.dmaMask());
            if (base <= 0) {
                throw noIova(base, sg.phys(0), total, device.dmaMask());
            }
            long prot = prot(dir);
            for (int i = 0; i < nents; i++) {
                if (pos[i] < 0) {
                    continue;
                }
                long phys = sg.phys(i);
                long off = phys & gmask;
                try {
                    mapOrThrow(base + pos[i], phys - off, align(sg.length(i) + off), prot, phys, sg.length(i));
                } catch (DmaMappingException e) {
                    table.unmap(base, pos[i]);
                    domain.invalidate(base, total);
                    iova.freeFast(base >>> shift, total >>> shift);
                    throw e;
                }
            }
        }
        return finalise(sg, nents, base, pos);
    }

    /** The kernel's __finalise_sg: writes the DMA segments, merging where its rules allow. */
    private int finalise(ScatterList sg, int nents, long base, long[] pos) {
        long boundary = device.attributes().segmentBoundaryMask();
        long maxSeg = device.attributes().maxSegmentSize();
        int count = 0;
        long curStart = 0;
        long curLen = 0;
        boolean open = false;
        for (int i = 0; i < nents; i++) {
            long len = sg.length(i);
            if (pos[i] < 0) {
                if (open) {
                    sg.setDma(count++, curStart, curLen, 0);
                    open = false;
                }
                Bar peer = machine.barAt(sg.phys(i));
                sg.setDma(count++, sg.phys(i) - peer.cpuAddress() + peer.busAddress(), len, ScatterList.FLAG_BUS_ADDRESS);
                continue;
            }
            long off = sg.phys(i) & gmask;
            long start = base + pos[i] + off;
            boolean merge = open && ((curStart + curLen) & gmask) == 0 && off == 0 && start == curStart + curLen
                    && (boundary == -1L || (start & boundary) != 0) && curLen + len <= maxSeg;
            if (merge) {
                curLen += len;
            } else {
                if (open) {
                    sg.setDma(count++, curStart, curLen, 0);
                }
                curStart = start;
                curLen = len;
                open = true;
            }
        }
        if (open) {
            sg.setDma(count++, curStart, curLen, 0);
        }
        for (int i = count; i < nents; i++) {
            sg.setDma(i, 0, 0, 0); // unused entries end the list, as a zero sg_dma_len does
        }
        return count;
    }

    private int mapSgOneByOne(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        for (int i = 0; i < nents; i++) {
            try {
                sg.setDma(i, mapPhys(sg.phys(i), sg.length(i), dir, attrs), sg.length(i), ScatterList.FLAG_SWIOTLB);
            } catch (RuntimeException e) {
                for (int j = 0; j < i; j++) {
                    unmapPhys(sg.dmaAddress(j), sg.dmaLength(j), dir, attrs | DmaAttrs.SKIP_CPU_SYNC);
                }
                throw e;
            }
        }
        return nents;
    }

    @Override
    public void unmapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        long start = Long.MAX_VALUE;
        long end = 0;
        for (int i = 0; i < nents && sg.dmaLength(i) != 0; i++) {
            int flags = sg.dmaFlags(i);
            if ((flags & ScatterList.FLAG_BUS_ADDRESS) != 0) {
                continue;
            }
            if ((flags & ScatterList.FLAG_SWIOTLB) != 0) {
                unmapPhys(sg.dmaAddress(i), sg.dmaLength(i), dir, attrs);
                continue;
            }
            start = Math.min(start, sg.dmaAddress(i) & ~gmask);
            end = Math.max(end, align(sg.dmaAddress(i) + sg.dmaLength(i)));
        }
        if (end > 0) {
            table.unmap(start, end - start);
            domain.retire(start, end - start);
        }
    }

    @Override
    public void syncSgForCpu(ScatterList sg, int nents, DmaDirection dir) {
        for (int i = 0; i < nents && sg.dmaLength(i) != 0; i++) {
            if ((sg.dmaFlags(i) & ScatterList.FLAG_SWIOTLB) != 0) {
                syncForCpu(sg.dmaAddress(i), sg.dmaLength(i), dir);
            }
        }
    }

    @Override
    public void syncSgForDevice(ScatterList sg, int nents, DmaDirection dir) {
        for (int i = 0; i < nents && sg.dmaLength(i) != 0; i++) {
            if ((sg.dmaFlags(i) & ScatterList.FLAG_SWIOTLB) != 0) {
                syncForDevice(sg.dmaAddress(i), sg.dmaLength(i), dir);
            }
        }
    }

    // ---------------------------------------------------------------- coherent

    @Override
    public CoherentBuffer allocCoherent(long size, int attrs) {
        int order = PageAllocator.orderFor(size);
        long len = align(PageAllocator.PAGE_SIZE << order);
        long phys;
        try {
            phys = pages.allocPages(order);
        } catch (PageAllocationException e) {
            throw new DmaMappingException(name, 0, size, "no free memory for a coherent allocation: " + e.getMessage());
        }
        long iovaAddr = allocIova(len, device.coherentMask());
        if (iovaAddr <= 0) {
            pages.freePages(phys);
            throw noIova(iovaAddr, phys, size, device.coherentMask());
        }
        try {
            mapOrThrow(iovaAddr, phys, len, PageTable.READ | PageTable.WRITE, phys, size);
        } catch (DmaMappingException e) {
            iova.freeFast(iovaAddr >>> shift, len >>> shift);
            pages.freePages(phys);
            throw e;
        }
        return new CoherentBuffer(space.view(phys, size), iovaAddr, phys, size);
    }

    @Override
    public void freeCoherent(long size, MemorySegment cpu, long dma) {
        long phys = table.iovaToPhys(dma);
        if (phys < 0 || pages.orderOf(phys) < 0) {
            throw new DmaApiMisuseException(name, MisuseCheck.FREE_COHERENT_NEVER_ALLOCATED,
                    String.format("device driver tries to free DMA memory it has not allocated [device address=0x%x] [size=%d bytes]", dma, size));
        }
        long len = align(PageAllocator.PAGE_SIZE << pages.orderOf(phys));
        table.unmap(dma, len);
        domain.retire(dma, len);
        pages.freePages(phys);
    }

    // ---------------------------------------------------------------- two-step

    @Override
    public boolean tryAlloc(IovaState state, long phys, long size) {
        long off = phys & gmask;
        long iovaAddr = allocIova(align(size + off), device.dmaMask());
        if (iovaAddr <= 0) {
            return false;
        }
        MappingStates.setIova(state, iovaAddr + off, size);
        return true;
    }

    @Override
    public void link(IovaState state, long phys, long offset, long size, DmaDirection dir, int attrs) {
        long startPad = phys & gmask;
        if (startPad != 0 && offset > 0) {
            throw new DmaApiMisuseException(name, MisuseCheck.IOVA_LINK_MID_GRANULE, String.format(
                    "iovaLink at offset 0x%x of a physical range starting mid-granule (0x%x): only the first link may (-EIO)", offset, phys));
        }
        long addr = state.addr() + offset;
        if (((addr - startPad) & gmask) != 0) {
            throw new DmaApiMisuseException(name, MisuseCheck.IOVA_LINK_MISALIGNED, String.format(
                    "iovaLink of 0x%x at IOVA 0x%x: the IOVA and the physical address differ in their offset within the %d-byte granule",
                    phys, addr, granule));
        }
        long prot = prot(dir);
        if (!(untrusted && ((phys | size) & gmask) != 0)) {
            mapOrThrow(addr - startPad, phys - startPad, align(size + startPad), prot, phys, size);
            return;
        }
        if (bounce == null) {
            throw new DmaMappingException(name, phys, size, "an untrusted device needs bounce buffers for the unaligned head or tail"
                    + " and no bounce-buffer provider is installed (-ENOMEM)");
        }
        // bounce only the sub-granule head and tail; map the aligned middle in place
        long done = 0;
        try {
            if (startPad != 0) {
                long headLen = Math.min(size, granule - startPad);
                long b = bounce.map(device, phys, headLen, gmask, gmask, dir, attrs);
                zeroPadding(b, headLen);
                MappingStates.markSwiotlb(state);
                mapOrThrow(addr - startPad, b - startPad, granule, prot, phys, size);
                done = headLen;
            }
            long endPad = (phys + size) & gmask;
            long middle = size - done - (done < size ? endPad : 0);
            if (middle > 0) {
                mapOrThrow(addr + done, phys + done, middle, prot, phys, size);
                done += middle;
            }
            if (done < size) {
                long b = bounce.map(device, phys + done, size - done, gmask, gmask, dir, attrs);
                zeroPadding(b, size - done);
                MappingStates.markSwiotlb(state);
                mapOrThrow(addr + done, b, granule, prot, phys, size);
                done = size;
            }
        } catch (RuntimeException e) {
            if (done > 0) {
                clearLinks(state, offset, done, dir, attrs | DmaAttrs.SKIP_CPU_SYNC); // unwind the caller's own range
            }
            throw e;
        }
    }

    @Override
    public void sync(IovaState state, long offset, long size) {
        domain.syncMap();
    }

    @Override
    public void unlink(IovaState state, long offset, long size, DmaDirection dir, int attrs) {
        clearLinks(state, offset, size, dir, attrs);
        long addr = state.addr() + offset;
        long start = addr & ~gmask;
        domain.invalidate(start, align(addr + size) - start); // unlink never uses the flush queue
    }

    /** Clears the page table for a linked range, releasing bounce slots granule by granule when the state ever bounced. */
    private void clearLinks(IovaState state, long offset, long size, DmaDirection dir, int attrs) {
        long addr = state.addr() + offset;
        if (state.usesSwiotlb() && bounce != null) {
            long cur = addr;
            long left = size;
            while (left > 0) {
                long chunk = Math.min(left, granule - (cur & gmask));
                long phys = table.iovaToPhys(cur);
                if (phys >= 0 && bounce.isBounce(phys)) {
                    bounce.unmap(device, phys, chunk, dir, attrs);
                }
                cur += chunk;
                left -= chunk;
            }
        }
        long start = addr & ~gmask;
        table.unmap(start, align(addr + size) - start);
    }

    @Override
    public void destroy(IovaState state, long mappedLen, DmaDirection dir, int attrs) {
        long addr = state.addr(); // read once: the state is the caller's
        long start = addr & ~gmask;
        long reserved = align(state.size() + (addr & gmask));
        if (mappedLen > 0) {
            clearLinks(state, 0, mappedLen, dir, attrs);
        }
        long linkedEnd = mappedLen > 0 ? align(addr + mappedLen) : start;
        if (linkedEnd < start + reserved && table.sweep(linkedEnd, start + reserved - linkedEnd) > 0) {
            // links beyond mapped_len (a misuse DMA-debug reports): the kernel would leave them; the model
            // never leaves a translation in IOVA space it frees
            domain.invalidate(linkedEnd, start + reserved - linkedEnd);
        }
        domain.retire(start, reserved);
    }

    @Override
    public void free(IovaState state) {
        long start = state.addr() & ~gmask;
        long granules = align(state.size() + (state.addr() & gmask)) >>> shift;
        if (!iova.freeFast(start >>> shift, granules)) {
            // free_iova ignores a pfn no range holds; nothing changed, and the model says so
            throw new DmaApiMisuseException(name, MisuseCheck.IOVA_FREE_UNKNOWN, String.format(
                    "free of IOVA 0x%x (+%d bytes): no allocated IOVA range holds it (freed twice?)", state.addr(), state.size()));
        }
    }

    // ---------------------------------------------------------------- queries

    @Override
    public boolean needUnmap() {
        return true;
    }

    @Override
    public boolean needSync(long dma) {
        if (!coherent) {
            return true;
        }
        if (!untrusted || bounce == null) {
            return false;
        }
        long phys = table.iovaToPhys(dma);
        return phys >= 0 && bounce.isBounce(phys);
    }

    @Override
    public long maxMappingSize() {
        return untrusted && bounce != null ? bounce.maxMappingSize(device) : Long.MAX_VALUE;
    }

    @Override
    public long optMappingSize() {
        return Math.min(maxMappingSize(), granule << (IovaAllocator.RCACHE_CLASSES - 1));
    }

    @Override
    public long mergeBoundary() {
        return gmask;
    }

    @Override
    public long requiredMask() {
        return 0xFFFF_FFFFL;
    }

    @Override
    public String toString() {
        return "IommuBackend[" + name + ", " + domain.describe() + "]";
    }
}
