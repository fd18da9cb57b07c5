package io.dma4j.consumers.mm;

import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.DmaMappingException;
import io.dma4j.api.IovaState;
import io.dma4j.api.P2pState;

/**
 * The HMM DMA helpers ({@code struct hmm_dma_map}, {@code hmm_dma_map_alloc},
 * {@code hmm_dma_map_pfn}, {@code hmm_dma_unmap_pfn}, {@code hmm_dma_map_free}; mm/hmm.c,
 * v6.16): DMA mappings for the pages of a mirrored range, one entry per page of the pfn
 * array.
 *
 * <p>{@link Design#TWO_STEP} (the kernel since v6.16): the IOVA for the whole range is
 * reserved once at allocation ({@link DmaMapper#iovaTryAlloc}); mapping an entry links one
 * page at offset {@code idx × entrySize} and syncs that slice, unmapping unlinks it; the
 * address is {@code state.addr + offset}, so nothing per entry is stored. Without an IOVA
 * (dma-direct) pages are mapped one by one and the address is kept in a second array only
 * when the device needs unmaps ({@link DmaMapper#needUnmap}). Bookkeeping: 8 bytes per page,
 * 16 in that last corner.
 *
 * <p>{@link Design#CLASSIC} (the ODP design before v6.16, for comparison): every page mapped
 * with its own {@code dma_map_page} and its address always stored: 16 bytes per page and an
 * IOVA allocation per page fault on an IOMMU.
 *
 * <p>Peer pages are classified per entry ({@link DmaMapper#p2pMapType}): a bus address is used
 * as is (nothing linked, nothing to unmap, {@link Hmm#P2PDMA_BUS}); a page reached through the
 * host bridge is mapped with {@link DmaAttrs#MMIO} ({@link Hmm#P2PDMA}); other peers are refused.
 *
 * <p>Thread safety: none; the caller serialises calls (ODP holds its umem mutex).
 */
public final class HmmDmaMap {
    /** How pages are mapped. */
    public enum Design {
        /** One IOVA reservation for the range, link/unlink per page (v6.16+). */
        TWO_STEP,
        /** A {@code dma_map_page} per page and a stored address per page (before v6.16). */
        CLASSIC
    }

    private final DmaMapper mapper;
    private final Design design;
    private final long entrySize;
    private final long[] pfnList;
    private final long[] dmaList;
    private final IovaState state = new IovaState();
    private final boolean useIova;
    private boolean freed;

    private HmmDmaMap(DmaMapper mapper, Design design, int nrEntries, long entrySize) {
        this.mapper = mapper;
        this.design = design;
        this.entrySize = entrySize;
        this.pfnList = new long[nrEntries];
        this.useIova = design == Design.TWO_STEP && mapper.iovaTryAlloc(state, 0, nrEntries * ProcessMemory.PAGE_SIZE);
        this.dmaList = !useIova && (design == Design.CLASSIC || mapper.needUnmap()) ? new long[nrEntries] : null;
    }

    /** {@link #alloc(DmaMapper, int, long, Design)} with the {@link Design#TWO_STEP} design. */
    public static HmmDmaMap alloc(DmaMapper mapper, int nrEntries, long entrySize) {
        return alloc(mapper, nrEntries, entrySize, Design.TWO_STEP);
    }

    /**
     * {@code hmm_dma_map_alloc}: the pfn array, the IOVA reservation when the backend has one,
     * the address array when it must.
     *
     * @param nrEntries pages mirrored, &gt; 0
     * @param entrySize bytes mapped per entry: the page size (the mode ODP uses; see the
     *                  reference's index caveat for larger sizes)
     * @throws UnsupportedOperationException ({@code -EOPNOTSUPP}) when the device is not
     *     cache coherent or may bounce ({@link DmaMapper#addressingLimited}): an HMM mirror is
     *     used by the CPU and the device at once, so buffer ownership cannot move back and forth
     * @throws IllegalArgumentException for a bad count or entry size
     */
    public static HmmDmaMap alloc(DmaMapper mapper, int nrEntries, long entrySize, Design design) {
        if (nrEntries <= 0) {
            throw new IllegalArgumentException("hmm_dma_map_alloc: " + nrEntries + " entries (expected: > 0)");
        }
        if (entrySize != ProcessMemory.PAGE_SIZE) {
            throw new IllegalArgumentException("hmm_dma_map_alloc: entry size " + entrySize + " (expected: " + ProcessMemory.PAGE_SIZE + ")");
        }
        String dev = mapper.device().name();
        if (!mapper.device().attributes().coherent()) {
            throw new UnsupportedOperationException("hmm_dma_map_alloc: " + dev + " is not DMA coherent; an HMM mirror cannot sync (-EOPNOTSUPP)");
        }
        if (mapper.addressingLimited()) {
            throw new UnsupportedOperationException("hmm_dma_map_alloc: " + dev
                    + " may bounce (dma_addressing_limited); an HMM mirror is used by CPU and device at once and cannot bounce (-EOPNOTSUPP)");
        }
        return new HmmDmaMap(mapper, design, nrEntries, entrySize);
    }

    /** The pfn array {@link Hmm#rangeFault} fills (shared, not a copy). */
    public long[] pfnList() {
        return pfnList;
    }

    /** Entries. */
    public int size() {
        return pfnList.length;
    }

    /** The design in use. */
    public Design design() {
        return design;
    }

    /** Whether the range has an IOVA reservation. */
    public boolean usesIova() {
        return useIova;
    }

    /** The IOVA state (its address is the range's base when {@link #usesIova()}). */
    public IovaState iovaState() {
        return state;
    }

    /** Whether a per-entry address array exists (no IOVA and unmaps needed, or the classic design). */
    public boolean hasDmaList() {
        return dmaList != null;
    }

    /** Bytes of per-page bookkeeping: the pfn array and, when present, the address array. */
    public long bookkeepingBytes() {
        return 8L * pfnList.length + (dmaList == null ? 0 : 8L * dmaList.length);
    }

    /**
     * {@code hmm_dma_map_pfn}: maps entry {@code idx} (whose pfn word {@link Hmm#rangeFault}
     * filled) for the device, bidirectionally, and marks it {@link Hmm#DMA_MAPPED}. An entry
     * already mapped returns its address again (a read-to-write upgrade re-fault).
     *
     * @param p2p the peer-memory classification cache for a batch of entries
     * @return the DMA address of the page
     * @throws DmaMappingException when the page cannot be mapped (the entry is left unmapped)
     * @throws IllegalArgumentException when the entry has no valid page
     */
    public long mapPfn(int idx, P2pState p2p) {
        checkLive();
        long pfn = pfnList[idx];
        if ((pfn & Hmm.VALID) == 0) {
            throw new IllegalArgumentException("hmm_dma_map_pfn: entry " + idx + " has no valid page (pfn word 0x" + Long.toHexString(pfn) + ")");
        }
        long phys = Hmm.toPhys(pfn);
        long offset = idx * entrySize;
        if ((pfn & Hmm.DMA_MAPPED) != 0 && (pfn & Hmm.P2PDMA_BUS) == 0) {
            if (useIova) {
                return state.addr() + offset;
            }
            if (dmaList != null) {
                return dmaList[idx];
            }
            // dma-direct with nothing to unmap: recompute below
        }
        int attrs = 0;
        switch (mapper.p2pMapType(p2p, phys)) {
            case NONE -> { }
            case THRU_HOST_BRIDGE -> {
                attrs |= DmaAttrs.MMIO;
                pfn |= Hmm.P2PDMA;
            }
            case BUS_ADDR -> {
                pfnList[idx] = pfn | Hmm.P2PDMA_BUS | Hmm.DMA_MAPPED;
                return p2p.busAddress(phys);
            }
            default -> throw new DmaMappingException(mapper.device().name(), phys, entrySize,
                    "hmm_dma_map_pfn: peer memory is not reachable from this device (P2P not supported)");
        }
        long dma;
        try {
            if (useIova) {
                mapper.iovaLink(state, phys, offset, entrySize, DmaDirection.BIDIRECTIONAL, attrs);
                try {
                    mapper.iovaSync(state, offset, entrySize);
                } catch (RuntimeException e) {
                    mapper.iovaUnlink(state, offset, entrySize, DmaDirection.BIDIRECTIONAL, attrs);
                    throw e;
                }
                dma = state.addr() + offset;
            } else {
                dma = mapper.mapPhys(phys, entrySize, DmaDirection.BIDIRECTIONAL, attrs);
                if (dmaList != null) {
                    dmaList[idx] = dma;
                }
            }
        } catch (RuntimeException e) {
            pfnList[idx] = pfn & ~Hmm.P2PDMA;
            throw e;
        }
        pfnList[idx] = pfn | Hmm.DMA_MAPPED;
        return dma;
    }

    /**
     * {@code hmm_dma_unmap_pfn}: undoes {@link #mapPfn} for entry {@code idx} (an unlink of
     * that page, which invalidates the IOTLB for it, or an unmap) and clears the sticky bits.
     * The IOVA reservation stays.
     *
     * @return whether the entry was valid and mapped (and is now unmapped)
     */
    public boolean unmapPfn(int idx) {
        checkLive();
        long pfn = pfnList[idx];
        if ((pfn & (Hmm.VALID | Hmm.DMA_MAPPED)) != (Hmm.VALID | Hmm.DMA_MAPPED)) {
            return false;
        }
        int attrs = (pfn & Hmm.P2PDMA) != 0 ? DmaAttrs.MMIO : 0;
        if ((pfn & Hmm.P2PDMA_BUS) == 0) {
            if (useIova) {
                mapper.iovaUnlink(state, idx * entrySize, entrySize, DmaDirection.BIDIRECTIONAL, attrs);
            } else if (dmaList != null) {
                mapper.unmapPhys(dmaList[idx], entrySize, DmaDirection.BIDIRECTIONAL, attrs);
            }
        }
        pfnList[idx] = pfn & ~Hmm.INOUT_FLAGS;
        return true;
    }

    /**
     * {@code hmm_dma_map_free}: gives the IOVA reservation back. Every entry must have been
     * unmapped first (as in the kernel, nothing is unlinked here; DMA-debug reports a free
     * with links left).
     *
     * @throws IllegalStateException when already freed
     */
    public void free() {
        checkLive();
        freed = true;
        if (useIova) {
            mapper.iovaFree(state);
        }
    }

    private void checkLive() {
        if (freed) {
            throw new IllegalStateException("hmm_dma_map of " + mapper.device().name() + " already freed");
        }
    }
}
