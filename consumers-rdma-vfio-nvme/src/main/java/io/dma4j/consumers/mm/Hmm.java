package io.dma4j.consumers.mm;

/**
 * Heterogeneous memory management: {@link #rangeFault} ({@code hmm_range_fault}, mm/hmm.c)
 * snapshots (and optionally faults in) a process's page tables into an array of pfn words
 * a device driver mirrors, and the pfn word's layout (include/linux/hmm.h, v6.16):
 *
 * <pre>
 *  63      VALID        (input: REQ_FAULT)
 *  62      WRITE        (input: REQ_WRITE)
 *  61      ERROR
 *  60      DMA_MAPPED   \
 *  59      P2PDMA        } sticky: kept by rangeFault ({@link #INOUT_FLAGS})
 *  58      P2PDMA_BUS   /
 *  53..57  order of the CPU mapping (0, or 9 for a 2 MiB page)
 *  0..52   page frame number
 * </pre>
 *
 * <p>Thread safety: stateless; the caller holds the mm's {@linkplain ProcessMemory#mmapReadLock
 * mmap read lock} around {@link #rangeFault}.
 */
public final class Hmm {
    /** {@code HMM_PFN_VALID}: a page is present (input: {@code HMM_PFN_REQ_FAULT}). */
    public static final long VALID = 1L << 63;
    /** {@code HMM_PFN_WRITE}: the CPU mapping is writable (input: {@code HMM_PFN_REQ_WRITE}). */
    public static final long WRITE = 1L << 62;
    /** {@code HMM_PFN_ERROR}: no access to the page. */
    public static final long ERROR = 1L << 61;
    /** {@code HMM_PFN_DMA_MAPPED}: sticky, the entry is DMA mapped. */
    public static final long DMA_MAPPED = 1L << 60;
    /** {@code HMM_PFN_P2PDMA}: sticky, mapped through the host bridge as MMIO. */
    public static final long P2PDMA = 1L << 59;
    /** {@code HMM_PFN_P2PDMA_BUS}: sticky, a bus-address P2P mapping (nothing to unmap). */
    public static final long P2PDMA_BUS = 1L << 58;
    /** {@code HMM_PFN_INOUT_FLAGS}: the bits {@link #rangeFault} preserves. */
    public static final long INOUT_FLAGS = DMA_MAPPED | P2PDMA | P2PDMA_BUS;
    /** {@code HMM_PFN_ORDER_SHIFT}. */
    public static final int ORDER_SHIFT = 53;
    /** {@code HMM_PFN_FLAGS}: every bit from the order field up. */
    public static final long FLAGS = -1L << ORDER_SHIFT;
    /** {@code HMM_PFN_REQ_FAULT} (input). */
    public static final long REQ_FAULT = VALID;
    /** {@code HMM_PFN_REQ_WRITE} (input). */
    public static final long REQ_WRITE = WRITE;

    private Hmm() {
    }

    /** The physical address of the page in a pfn word ({@code hmm_pfn_to_phys}). */
    public static long toPhys(long pfn) {
        return (pfn & ~FLAGS) << 12;
    }

    /** The CPU mapping order in a pfn word ({@code hmm_pfn_to_map_order}). */
    public static int mapOrder(long pfn) {
        return (int) ((pfn >>> ORDER_SHIFT) & 0x1F);
    }

    /**
     * Fills {@code range}'s pfns from the page tables ({@code hmm_range_fault}). For each page
     * the request is {@code (pfn & pfnFlagsMask) | defaultFlags}: with {@link #REQ_FAULT} a
     * page not present is faulted in, with {@link #REQ_WRITE} also a read-only one made
     * writable (breaking copy-on-write). Results: a present page gives its frame,
     * {@link #VALID}, {@link #WRITE} when writable and the order; a page not present and not
     * requested gives 0; an address with no mapping gives {@link #ERROR}. The
     * {@link #INOUT_FLAGS} of each entry are kept.
     *
     * @return {@code false} ({@code -EBUSY}) when an invalidation of the notifier's range
     *     started since {@link HmmRange#notifierSeq()}: read a new sequence and call again
     * @throws HmmFaultException {@code EFAULT} when a requested page has no mapping,
     *     {@code EPERM} when a write is requested on a read-only mapping
     * @throws IllegalStateException when the caller does not hold the mmap lock
     */
    public static boolean rangeFault(HmmRange range) {
        ProcessMemory mm = range.notifier().mm();
        if (!mm.holdsMmapLock()) {
            throw new IllegalStateException("hmm_range_fault needs the mmap lock (mm.mmapReadLock())");
        }
        long[] pfns = range.pfns();
        long page = ProcessMemory.PAGE_SIZE;
        long va = range.start();
        while (va < range.end()) {
            // the kernel's outer loop: each restart after a fault checks the notifier first
            if (range.notifier().checkRetry(range.notifierSeq())) {
                return false;
            }
            boolean restarted = false;
            for (; va < range.end(); va += page) {
                int i = range.pfnIndex() + (int) ((va - range.start()) / page);
                long req = ((pfns[i] & range.pfnFlagsMask()) | range.defaultFlags()) & (REQ_FAULT | REQ_WRITE);
                ProcessMemory.Vma vma = mm.vmaAt(va);
                if (vma == null) {
                    if ((req & REQ_FAULT) != 0) {
                        throw new HmmFaultException(va, HmmFaultException.EFAULT, "no mapping");
                    }
                    pfns[i] = (pfns[i] & INOUT_FLAGS) | ERROR;
                    continue;
                }
                long pte = mm.pte(vma, va);
                boolean present = (pte & ProcessMemory.PRESENT) != 0;
                boolean writable = (pte & ProcessMemory.WRITE) != 0;
                boolean needFault = (req & REQ_FAULT) != 0 && (!present || ((req & REQ_WRITE) != 0 && !writable));
                if (needFault) {
                    if ((req & REQ_WRITE) != 0 && !vma.writable) {
                        throw new HmmFaultException(va, HmmFaultException.EPERM, "write requested on a read-only mapping");
                    }
                    mm.fault(vma, va, (req & REQ_WRITE) != 0);
                    restarted = true; // -EBUSY inside the walk: restart at this page
                    break;
                }
                if (!present) {
                    pfns[i] &= INOUT_FLAGS;
                    continue;
                }
                long order = vma.huge ? (long) ProcessMemory.HUGE_ORDER << ORDER_SHIFT : 0;
                pfns[i] = (pfns[i] & INOUT_FLAGS) | (pte >>> 12 & ~FLAGS) | VALID | (writable ? WRITE : 0) | order;
            }
            if (!restarted) {
                break;
            }
        }
        return true;
    }
}
