package io.dma4j.consumers.rdma;

import io.dma4j.api.P2pState;
import io.dma4j.consumers.mm.Hmm;
import io.dma4j.consumers.mm.HmmDmaMap;
import io.dma4j.consumers.mm.ProcessMemory;
import io.dma4j.hw.rnic.Rnic;

import java.util.Map;
import java.util.function.LongSupplier;

/**
 * An on-demand-paging memory region on the RNIC: a memory key whose translation table starts
 * empty and is filled page by page as the device faults ({@code mlx5_ib_mr} with an
 * {@link UmemOdp}). {@link #prefetch} is the fault path ({@code pagefault_real_mr}:
 * {@link UmemOdp#mapDmaAndLock}, then {@code hmm_dma_map_pfn} per valid entry and the
 * translation entries written to the NIC — {@code dma | READ | WRITE when the pfn is writable}
 * — before the umem mutex is dropped); an invalidation zaps the NIC's entries before the
 * pages are unlinked.
 *
 * <p>Thread safety: prefetch and invalidation may run on different threads (the umem mutex
 * orders them); {@link #close} once, after the last request.
 */
public final class OdpMr implements MemoryRegion, AutoCloseable {
    private final RnicDriver driver;
    private final int lkey;
    private final UmemOdp umem;
    private final Implicit implicit;
    private final P2pState p2p = new P2pState();
    private final long[] staged = new long[Rnic.XLT_MAX_ENTRIES];
    private long faultedPages;
    private boolean closed;

    /** What an implicit region needs to create its children: one explicit region per window on first fault. */
    record Implicit(ProcessMemory mm, boolean writable, HmmDmaMap.Design design, LongSupplier clock, Map<Long, OdpMr> children) {
    }

    OdpMr(RnicDriver driver, int lkey, UmemOdp umem) {
        this.driver = driver;
        this.lkey = lkey;
        this.umem = umem;
        this.implicit = null;
        umem.setInvalidator((u, first, count) -> driver.zap(lkey, first, count));
    }

    OdpMr(RnicDriver driver, int lkey, Implicit implicit) {
        this.driver = driver;
        this.lkey = lkey;
        this.umem = null;
        this.implicit = implicit;
    }

    /** Whether this is an implicit region (the whole address space, children per window). */
    public boolean isImplicit() {
        return implicit != null;
    }

    /** The children of an implicit region created so far (by window index); empty for an explicit one. */
    public synchronized Map<Long, OdpMr> children() {
        return implicit == null ? Map.of() : Map.copyOf(implicit.children());
    }

    @Override
    public int lkey() {
        return lkey;
    }

    /** The first virtual address of the region (0 for an implicit one). */
    @Override
    public long start() {
        return implicit != null ? 0 : umem.start();
    }

    /** Bytes in the region (the whole 47-bit user address space for an implicit one). */
    @Override
    public long length() {
        return implicit != null ? Rnic.IMPLICIT_END : umem.end() - umem.start();
    }

    /**
     * The ODP umem behind the region.
     *
     * @throws IllegalStateException for an implicit region, which has none of its own (see {@link #children()})
     */
    public UmemOdp umem() {
        if (umem == null) {
            throw new IllegalStateException("memory region " + lkey + " is implicit: its umems are its children's");
        }
        return umem;
    }

    /** Bytes of per-page DMA bookkeeping the region keeps (the pfn array, and the address array when present; children's for an implicit one). */
    public synchronized long bookkeepingBytes() {
        if (implicit == null) {
            return umem.map().bookkeepingBytes();
        }
        long sum = 0;
        for (OdpMr c : implicit.children().values()) {
            sum += c.bookkeepingBytes();
        }
        return sum;
    }

    /** Pages mapped for the device now (over the children for an implicit region). */
    public long mappedPages() {
        if (implicit == null) {
            return umem.mappedPages();
        }
        long sum = 0;
        for (OdpMr c : children().values()) {
            sum += c.mappedPages();
        }
        return sum;
    }

    /** Pages made present by {@link #prefetch} so far (each fault counts the pages it resolved). */
    public synchronized long faultedPages() {
        return faultedPages;
    }

    /**
     * Faults {@code [va, va + length)} in and writes its translation entries to the NIC, as a
     * device page fault or an {@code ibv_advise_mr} prefetch does.
     *
     * @param write whether the device needs write access
     * @return the pages whose entries were written
     * @throws IllegalArgumentException when the range leaves the region
     * @throws io.dma4j.consumers.mm.HmmFaultException when a page has no (writable) mapping
     * @throws io.dma4j.api.DmaMappingException when a page cannot be mapped for the device
     */
    @Override
    public int prefetch(long va, long length, boolean write) {
        if (closed) {
            throw new IllegalStateException("memory region " + lkey + " is closed");
        }
        if (implicit != null) {
            return prefetchImplicit(va, length, write);
        }
        int first = umem.mapDmaAndLock(va, length, write, true);
        int count = (int) ((((va + length + Rnic.PAGE - 1) & -Rnic.PAGE) - (va & -Rnic.PAGE)) / Rnic.PAGE);
        try {
            HmmDmaMap map = umem.map();
            long[] pfns = map.pfnList();
            for (int done = 0; done < count; ) {
                int n = Math.min(Rnic.XLT_MAX_ENTRIES, count - done);
                for (int j = 0; j < n; j++) {
                    int i = first + done + j;
                    long pfn = pfns[i];
                    long entry = 0;
                    if ((pfn & Hmm.VALID) != 0) {
                        boolean was = (pfn & Hmm.DMA_MAPPED) != 0;
                        long dma = map.mapPfn(i, p2p);
                        if (!was) {
                            umem.pageMapped();
                        }
                        entry = dma | Rnic.MTT_READ | ((pfn & Hmm.WRITE) != 0 ? Rnic.MTT_WRITE : 0);
                    }
                    staged[j] = entry;
                }
                driver.updateXlt(lkey, first + done, staged, n);
                done += n;
            }
            synchronized (this) {
                faultedPages += count;
            }
            return count;
        } finally {
            umem.mutex().unlock();
        }
    }

    /** Implicit ODP: each window the range touches gets its child on first use ({@code implicit_get_child_mr}), then faults there. */
    private int prefetchImplicit(long va, long length, boolean write) {
        if (length <= 0 || va < 0 || va > Rnic.IMPLICIT_END - length) {
            throw new IllegalArgumentException(String.format("implicit ODP: 0x%x+0x%x outside the user address space (-EFAULT)", va, length));
        }
        int pages = 0;
        for (long at = va; at < va + length; ) {
            long window = at / Rnic.IMPLICIT_WINDOW;
            long end = Math.min(va + length, (window + 1) * Rnic.IMPLICIT_WINDOW);
            OdpMr child = driver.childFor(this, window, implicit);
            pages += child.prefetch(at, end - at, write);
            at = end;
        }
        synchronized (this) {
            faultedPages += pages;
        }
        return pages;
    }

    /**
     * Destroys the key on the NIC, then releases the umem (every page unlinked, the IOVA
     * reservation freed); an implicit region destroys its own key first, then its children.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        driver.destroyMr(this);
        if (implicit != null) {
            for (OdpMr c : children().values()) {
                c.close();
            }
            return;
        }
        umem.release();
    }
}
