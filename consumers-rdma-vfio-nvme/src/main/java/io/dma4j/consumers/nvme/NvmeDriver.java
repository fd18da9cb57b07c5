package io.dma4j.consumers.nvme;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.P2pMapType;
import io.dma4j.api.P2pState;
import io.dma4j.consumers.block.BlockDmaIterator;
import io.dma4j.hw.nvme.Nvme;
import io.dma4j.platform.memory.PhysicalAddressSpace;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * An NVMe driver over the DMA API, in the manner of drivers/nvme/host/pci.c: admin and one
 * I/O queue pair in coherent DMA memory, doorbells written to BAR 0, data mapped with the
 * {@link BlockDmaIterator} (one IOVA range when the backend has IOVA space), described by
 * PRPs (PRP1, PRP2 as data or list pointer, list pages chained through their last slot) or
 * by SGLs when the controller supports them and the average segment reaches the SGL
 * threshold, and unmapped on completion. Data pointers are set up as {@code nvme_map_data}
 * (drivers/nvme/host/pci.c, v6.17) does:
 * <ul>
 * <li>a request of one segment that is not peer memory skips the iterator
 *     ({@code nvme_pci_setup_data_simple}): it is mapped with one {@code mapPhys}; when it
 *     spans at most two controller pages ({@code offset + length <= 8 KiB}) PRP1 and PRP2
 *     describe it, otherwise an SGL-capable controller gets one SGL data block in the command
 *     (the SGL threshold is not consulted on this path, in the kernel as here), and a
 *     controller without SGLs falls back to the iterator and a PRP list;</li>
 * <li>otherwise an SGL when the controller supports it and the average segment is at least
 *     the threshold ({@link #setSglThreshold}, default {@value #DEFAULT_SGL_THRESHOLD}; 0 turns
 *     this choice off), or when the segments have gaps PRPs cannot describe;</li>
 * <li>a PRP list of at most 32 entries, or an SGL segment of at most 16 descriptors, comes from
 *     the 256-byte small descriptor pool ({@link #setDmaPoolAlign512} for
 *     {@code NVME_QUIRK_DMAPOOL_ALIGN_512}); longer ones from 4 KiB pages.</li>
 * </ul>
 * The transfer limit is the kernel's {@code max_hw_sectors}: the smallest of
 * {@value #NVME_MAX_BYTES} bytes, the mapper's {@code optMappingSize} (128 KiB behind an
 * IOMMU: the IOVA range caches' limit) and the controller's MDTS, where MDTS 0 means no
 * limit. Larger requests are for the caller to split, as the block layer does.
 *
 * <p>A command whose completion never arrives (the controller could not post it: a DMA
 * fault on the completion queue) is handled as the kernel's timeout handler does: the
 * controller is reset ({@code nvme_reset_ctrl}: disabled, the queues emptied and created
 * again) and the command fails; if the reset itself fails the driver is dead and every
 * later call says so. {@link #close()} disables the controller and frees every queue and
 * descriptor page; a constructor that fails frees what it had allocated.
 *
 * <p>Thread safety: one thread at a time (one I/O queue, no locking).
 */
public final class NvmeDriver implements AutoCloseable {
    /** The kernel's default {@code sgl_threshold} module parameter, in bytes. */
    public static final long DEFAULT_SGL_THRESHOLD = 32 * 1024;
    /** {@code NVME_MAX_BYTES}: the driver's own cap per command. */
    public static final long NVME_MAX_BYTES = 8L << 20;
    /** Most PRP list entries that still come from the small descriptor pool (256 B / 8). */
    static final int SMALL_POOL_PRPS = SmallDescriptorPool.BLOCK / 8;
    /** Most SGL descriptors that still come from the small descriptor pool (256 B / 16). */
    static final int SMALL_POOL_SGLS = SmallDescriptorPool.BLOCK / 16;
    /** Most data segments per command (one SGL descriptor page). */
    public static final int MAX_SEGMENTS = 256;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int ADMIN_DEPTH = 32;
    private static final int IO_DEPTH = 64;

    /** A queue pair: SQ and CQ in coherent memory, the driver's tail and head, the expected phase. */
    private static final class QueuePair {
        final int qid;
        final CoherentBuffer sq;
        final CoherentBuffer cq;
        final int depth;
        int tail;
        int head;
        boolean phase = true;

        QueuePair(int qid, CoherentBuffer sq, CoherentBuffer cq, int depth) {
            this.qid = qid;
            this.sq = sq;
            this.cq = cq;
            this.depth = depth;
        }
    }

    private final DmaMapper mapper;
    private final PhysicalAddressSpace cpu;
    private final long regs;
    private QueuePair admin;
    private QueuePair io;
    private String dead; // why the controller is unusable, or null
    private boolean closed;
    private boolean ready; // brought up
    private boolean resetting;
    private final ArrayDeque<CoherentBuffer> descriptorPages = new ArrayDeque<>();
    private final List<CoherentBuffer> inUse = new ArrayList<>();
    private final BlockDmaIterator iter = new BlockDmaIterator(MAX_SEGMENTS);
    private final P2pState p2p = new P2pState();
    private final long[] segDma = new long[MAX_SEGMENTS]; // the request's mapped segments, as PRPs and SGLs read them
    private final long[] segLen = new long[MAX_SEGMENTS];
    private SmallDescriptorPool small;
    private int smallInUse = -1; // the request's small descriptor block, or -1
    private long largePages; // 4 KiB descriptor pages allocated so far
    private long sglThreshold = DEFAULT_SGL_THRESHOLD;
    private long maxTransfer;
    private int mdts;
    private boolean sgls;
    private int cid;
    private long lastBookkeeping;
    private boolean lastUsedSgl;
    private boolean lastSingleSegment;
    private boolean lastSmallDescriptor;
    private int lastPsdt;
    private long requests;
    private long dptr1;
    private long dptr2;
    private long mappingNanos;
    private long bookkeepingBytes;
    private long resets;

    /**
     * Brings the controller up: admin queues, Identify, one I/O queue pair.
     *
     * @throws IllegalStateException when the controller fails an admin command
     */
    public NvmeDriver(DmaMapper mapper, PhysicalAddressSpace cpu) {
        this.mapper = mapper;
        this.cpu = cpu;
        this.regs = mapper.device().bar(0).cpuAddress();
        this.small = new SmallDescriptorPool(mapper, false);
        try {
            admin = queuePair(0, ADMIN_DEPTH);
            CoherentBuffer id = mapper.allocCoherent(Nvme.PAGE, 0);
            try {
                enableAdmin();
                adminCommand(Nvme.ADMIN_IDENTIFY, id.dmaAddress(), 1, 0, "Identify Controller");
                mdts = id.cpu().get(ValueLayout.JAVA_BYTE, 77) & 0xFF;
                sgls = (id.cpu().get(INT, 536) & 3) != 0;
                maxTransfer = transferLimit(mdts, mapper.optMappingSize());
            } finally {
                mapper.freeCoherent(id);
            }
            io = queuePair(1, IO_DEPTH);
            createIoQueues();
            ready = true;
        } catch (RuntimeException e) {
            try {
                close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /**
     * {@code max_hw_sectors} in bytes: {@code min(NVME_MAX_BYTES, dma_opt_mapping_size)} at
     * probe ({@code nvme_pci_alloc_dev}), then {@code min_not_zero} with MDTS after Identify
     * ({@code nvme_init_ctrl_finish}), where MDTS 0 reports no limit; whole LBAs.
     */
    static long transferLimit(int mdts, long optMappingSize) {
        long limit = optMappingSize > 0 ? Math.min(NVME_MAX_BYTES, optMappingSize) : NVME_MAX_BYTES;
        if (mdts != 0) {
            limit = Math.min(limit, (long) Nvme.PAGE << Math.min(mdts, 20));
        }
        return limit & -Nvme.LBA;
    }

    /** A queue pair's SQ and CQ in coherent memory; nothing is kept if the second allocation fails. */
    private QueuePair queuePair(int qid, int depth) {
        CoherentBuffer sq = mapper.allocCoherent((long) depth * Nvme.SQE_SIZE, 0);
        try {
            return new QueuePair(qid, sq, mapper.allocCoherent((long) depth * Nvme.CQE_SIZE, 0), depth);
        } catch (RuntimeException e) {
            mapper.freeCoherent(sq);
            throw e;
        }
    }

    /** CC.EN = 0, the admin queue registers, CC.EN = 1; the admin queue starts empty. */
    private void enableAdmin() {
        cpu.writeLong(regs + Nvme.REG_CC, 0);
        admin.sq.cpu().fill((byte) 0);
        admin.cq.cpu().fill((byte) 0);
        admin.tail = 0;
        admin.head = 0;
        admin.phase = true;
        cpu.writeInt(regs + Nvme.REG_AQA, ((ADMIN_DEPTH - 1) << 16) | (ADMIN_DEPTH - 1));
        cpu.writeLong(regs + Nvme.REG_ASQ, admin.sq.dmaAddress());
        cpu.writeLong(regs + Nvme.REG_ACQ, admin.cq.dmaAddress());
        cpu.writeLong(regs + Nvme.REG_CC, 1);
        if ((cpu.readInt(regs + Nvme.REG_CSTS) & 1) == 0) {
            throw new IllegalStateException(mapper.device().name() + ": controller did not become ready");
        }
    }

    private void createIoQueues() {
        io.sq.cpu().fill((byte) 0);
        io.cq.cpu().fill((byte) 0);
        io.tail = 0;
        io.head = 0;
        io.phase = true;
        adminCommand(Nvme.ADMIN_CREATE_CQ, io.cq.dmaAddress(), ((IO_DEPTH - 1) << 16) | 1, 1, "Create I/O CQ");
        adminCommand(Nvme.ADMIN_CREATE_SQ, io.sq.dmaAddress(), ((IO_DEPTH - 1) << 16) | 1, 1 << 16, "Create I/O SQ");
    }

    /**
     * The timeout handler's reset: disable, re-enable with empty queues, create the I/O
     * queues again. A failure leaves the driver dead.
     */
    private void resetController(String why) {
        resetting = true;
        try {
            enableAdmin();
            createIoQueues();
            resets++;
        } catch (RuntimeException e) {
            dead = why + "; the reset that followed failed too (" + e.getMessage() + ")";
            cpu.writeLong(regs + Nvme.REG_CC, 0);
        } finally {
            resetting = false;
        }
    }

    /** Controller resets after a lost completion so far. */
    public long resets() {
        return resets;
    }

    private void checkUsable() {
        if (closed) {
            throw new IllegalStateException(mapper.device().name() + ": the driver is closed");
        }
        if (dead != null) {
            throw new IllegalStateException(mapper.device().name() + ": the controller is dead: " + dead);
        }
    }

    /**
     * Disables the controller and frees the queues and descriptor pages (DMA must have
     * stopped: the controller is disabled first). Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        cpu.writeLong(regs + Nvme.REG_CC, 0);
        descriptorPages.addAll(inUse);
        inUse.clear();
        for (CoherentBuffer b : descriptorPages) {
            mapper.freeCoherent(b);
        }
        descriptorPages.clear();
        small.close();
        for (QueuePair q : new QueuePair[] {io, admin}) {
            if (q != null) {
                mapper.freeCoherent(q.cq);
                mapper.freeCoherent(q.sq);
            }
        }
        io = null;
        admin = null;
    }

    private void adminCommand(int opcode, long prp1, int cdw10, int cdw11, String what) {
        int status = submit(admin, opcode, Nvme.PSDT_PRP, prp1, 0, cdw10, cdw11, 0, 0);
        if (status != Nvme.SC_SUCCESS) {
            throw new IllegalStateException(String.format("%s: %s failed with status 0x%x", mapper.device().name(), what, status));
        }
    }

    /**
     * The largest transfer one command may carry, in bytes: the kernel's {@code max_hw_sectors}
     * (see the class comment). Larger requests are refused; split them first.
     */
    public long maxTransferBytes() {
        return maxTransfer;
    }

    /** The MDTS the controller reported in Identify (0: no limit). */
    public int mdts() {
        return mdts;
    }

    /**
     * The {@code sgl_threshold} module parameter: SGLs are used for a multi-segment request
     * when its average segment is at least this many bytes; 0 turns that choice off (gapped
     * requests and the single-segment path may still use SGLs, as in the kernel).
     *
     * @throws IllegalArgumentException for a negative value
     */
    public void setSglThreshold(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("sgl_threshold " + bytes + " (expected: >= 0 bytes; 0 turns SGLs off for multi-segment requests)");
        }
        sglThreshold = bytes;
    }

    /** The current {@code sgl_threshold} in bytes. */
    public long sglThreshold() {
        return sglThreshold;
    }

    /**
     * {@code NVME_QUIRK_DMAPOOL_ALIGN_512}: small descriptors aligned to 512 bytes instead of 256
     * (half of each pool page goes unused). Set it before the first request.
     *
     * @throws IllegalStateException once the small pool holds memory
     */
    public void setDmaPoolAlign512(boolean align512) {
        if (small.bytes() != 0) {
            throw new IllegalStateException(mapper.device().name() + ": the small descriptor pool is in use; set its alignment before the first request");
        }
        small = new SmallDescriptorPool(mapper, align512);
    }

    /** Coherent memory the descriptor pools hold, in bytes: the small pool's pages and the 4 KiB descriptor pages. */
    public long descriptorBytes() {
        return small.bytes() + largePages * Nvme.PAGE;
    }

    /** Of {@link #descriptorBytes()}, the small (256-byte block) pool's pages. */
    public long smallPoolBytes() {
        return small.bytes();
    }

    /** Whether the last request took the single-segment path (no iterator). */
    public boolean lastSingleSegment() {
        return lastSingleSegment;
    }

    /** Whether the last request's PRP list or SGL segment came from the small descriptor pool. */
    public boolean lastSmallDescriptor() {
        return lastSmallDescriptor;
    }

    /** The last I/O command's PSDT ({@link Nvme#PSDT_PRP} or {@link Nvme#PSDT_SGL}). */
    public int lastPsdt() {
        return lastPsdt;
    }

    /** The last I/O command's first data-pointer quadword (PRP1, or the SGL descriptor's address). */
    public long lastDataPointer1() {
        return dptr1;
    }

    /** The last I/O command's second data-pointer quadword (PRP2, or the SGL descriptor's length and type). */
    public long lastDataPointer2() {
        return dptr2;
    }

    /** Whether the controller supports SGLs. */
    public boolean sglSupported() {
        return sgls;
    }

    /** Bytes the last request kept for unmapping (the IOVA state, or its mapped segments, or none). */
    public long lastBookkeepingBytes() {
        return lastBookkeeping;
    }

    /** Uses one IOVA range per request when the backend offers it (true, the default) or maps segment by segment. */
    public void setTwoStep(boolean twoStep) {
        iter.setTryIova(twoStep);
    }

    /** Maps requests as one scatter list each (the pre-6.17 path) instead, for comparisons. */
    public void setScatterList(boolean scatterList) {
        iter.setScatterList(scatterList);
    }

    /** Requests completed (successfully or not) through {@link #read} and {@link #write}. */
    public long requests() {
        return requests;
    }

    /** Nanoseconds spent mapping and unmapping data, over all requests. */
    public long mappingNanos() {
        return mappingNanos;
    }

    /** Bytes of unmap bookkeeping kept, summed over all requests. */
    public long bookkeepingBytes() {
        return bookkeepingBytes;
    }

    /** Whether the last request was described with an SGL. */
    public boolean lastUsedSgl() {
        return lastUsedSgl;
    }

    /** Writes {@code n} physical segments to the namespace at {@code lba}; the NVMe status (0 = success). */
    public int write(long lba, long[] phys, long[] len, int n) {
        return rw(Nvme.IO_WRITE, DmaDirection.TO_DEVICE, lba, phys, len, n);
    }

    /** Reads from the namespace at {@code lba} into {@code n} physical segments; the NVMe status. */
    public int read(long lba, long[] phys, long[] len, int n) {
        return rw(Nvme.IO_READ, DmaDirection.FROM_DEVICE, lba, phys, len, n);
    }

    private int rw(int opcode, DmaDirection dir, long lba, long[] phys, long[] len, int n) {
        checkUsable();
        long total = 0;
        for (int i = 0; i < n; i++) {
            total += len[i];
        }
        if (total == 0 || total % Nvme.LBA != 0 || total > maxTransfer) {
            throw new IllegalArgumentException(String.format("%s: %d bytes (expected: a multiple of %d, at most the transfer limit %d bytes;"
                    + " split larger requests)", mapper.device().name(), total, Nvme.LBA, maxTransfer));
        }
        boolean gaps = false;
        for (int i = 0; i < n; i++) {
            gaps |= (i > 0 && (phys[i] & (Nvme.PAGE - 1)) != 0) || (i < n - 1 && ((phys[i] + len[i]) & (Nvme.PAGE - 1)) != 0);
        }
        if (gaps && !sgls) {
            throw new IllegalArgumentException(mapper.device().name() + ": the segments have gaps a PRP list cannot describe and the controller has no SGLs");
        }
        if (n == 1) {
            int status = simple(opcode, dir, lba, phys[0], len[0]);
            if (status != AGAIN) {
                return status;
            }
        }
        lastSingleSegment = false;
        long t0 = System.nanoTime();
        int count = iter.map(mapper, phys, len, n, dir);
        mappingNanos += System.nanoTime() - t0;
        lastBookkeeping = iter.bookkeepingBytes();
        bookkeepingBytes += lastBookkeeping;
        requests++;
        int nseg = iter.coalesced() ? 1 : count;
        boolean dmaGaps = false; // bouncing without a min align mask can move segment offsets
        for (int i = 0; i < count; i++) {
            dmaGaps |= (i > 0 && (iter.dmaAddress(i) & (Nvme.PAGE - 1)) != 0)
                    || (i < count - 1 && ((iter.dmaAddress(i) + iter.dmaLength(i)) & (Nvme.PAGE - 1)) != 0);
        }
        if (dmaGaps && !sgls) {
            iter.unmap(mapper, dir);
            throw new IllegalStateException(mapper.device().name() + ": the mapped segments have gaps a PRP list cannot describe (set a 4 KiB min align mask)");
        }
        for (int i = 0; i < count; i++) {
            segDma[i] = iter.dmaAddress(i);
            segLen[i] = iter.dmaLength(i);
        }
        boolean useSgl = sgls && (gaps || dmaGaps || (sglThreshold != 0 && (total + nseg - 1) / nseg >= sglThreshold));
        lastUsedSgl = useSgl;
        lastSmallDescriptor = false;
        try {
            if (useSgl) {
                sgl(count);
            } else {
                prps(total);
            }
            int blocks = (int) (total / Nvme.LBA) - 1;
            lastPsdt = useSgl ? Nvme.PSDT_SGL : Nvme.PSDT_PRP;
            return submit(io, opcode, lastPsdt, dptr1, dptr2, (int) lba, (int) (lba >>> 32), blocks, 0);
        } finally {
            long t1 = System.nanoTime();
            iter.unmap(mapper, dir);
            mappingNanos += System.nanoTime() - t1;
            descriptorPages.addAll(inUse);
            inUse.clear();
            if (smallInUse >= 0) {
                small.give(smallInUse);
                smallInUse = -1;
            }
        }
    }

    /**
     * Writes from a data buffer that is already mapped for this controller: the DMA address
     * list of a dma-buf attachment ({@code nvme_rq_setup_dmabuf_map}/{@code _sgl} of the 2026
     * series that lets NVMe take a dma-buf's addresses). PRPs or SGLs are built from the
     * addresses as for any request (SGLs when the average segment reaches the threshold or the
     * segments have gaps); nothing is mapped or unmapped here: the importer owns the mapping.
     *
     * @return the NVMe status
     * @throws IllegalArgumentException for a size the controller cannot take, more than
     *                                  {@value #MAX_SEGMENTS} segments, or gaps without SGLs
     */
    public int writeMapped(long lba, long[] dma, long[] len, int n) {
        return mapped(Nvme.IO_WRITE, lba, dma, len, n);
    }

    /** Reads into a data buffer already mapped for this controller (see {@link #writeMapped}). */
    public int readMapped(long lba, long[] dma, long[] len, int n) {
        return mapped(Nvme.IO_READ, lba, dma, len, n);
    }

    private int mapped(int opcode, long lba, long[] dma, long[] len, int n) {
        checkUsable();
        if (n < 1 || n > MAX_SEGMENTS) {
            throw new IllegalArgumentException(String.format("%s: %d segments (expected: 1..%d)", mapper.device().name(), n, MAX_SEGMENTS));
        }
        long total = 0;
        boolean gaps = false;
        for (int i = 0; i < n; i++) {
            total += len[i];
            gaps |= (i > 0 && (dma[i] & (Nvme.PAGE - 1)) != 0) || (i < n - 1 && ((dma[i] + len[i]) & (Nvme.PAGE - 1)) != 0);
            segDma[i] = dma[i];
            segLen[i] = len[i];
        }
        if (total == 0 || total % Nvme.LBA != 0 || total > maxTransfer) {
            throw new IllegalArgumentException(String.format("%s: %d bytes (expected: a multiple of %d, at most the transfer limit %d bytes;"
                    + " split larger requests)", mapper.device().name(), total, Nvme.LBA, maxTransfer));
        }
        if (gaps && !sgls) {
            throw new IllegalArgumentException(mapper.device().name() + ": the segments have gaps a PRP list cannot describe and the controller has no SGLs");
        }
        requests++;
        lastSingleSegment = false;
        lastSmallDescriptor = false;
        lastBookkeeping = 0;
        boolean useSgl = sgls && (gaps || (sglThreshold != 0 && (total + n - 1) / n >= sglThreshold));
        lastUsedSgl = useSgl;
        try {
            if (useSgl) {
                sgl(n);
            } else {
                prps(total);
            }
            lastPsdt = useSgl ? Nvme.PSDT_SGL : Nvme.PSDT_PRP;
            return submit(io, opcode, lastPsdt, dptr1, dptr2, (int) lba, (int) (lba >>> 32), (int) (total / Nvme.LBA) - 1, 0);
        } finally {
            descriptorPages.addAll(inUse);
            inUse.clear();
            if (smallInUse >= 0) {
                small.give(smallInUse);
                smallInUse = -1;
            }
        }
    }

    /** {@code BLK_STS_AGAIN} from the single-segment path: use the iterator. */
    private static final int AGAIN = -1;

    /**
     * {@code nvme_pci_setup_data_simple}: one segment, not peer memory, mapped with one
     * {@code mapPhys}; PRP1/PRP2 when it spans at most two controller pages, else one SGL data
     * block in the command (SGL-capable controllers only). The command's data pointer and the
     * length are all unmapping needs ({@code IOD_SINGLE_SEGMENT}).
     *
     * @return the command's status, or {@link #AGAIN} to take the iterator path
     */
    private int simple(int opcode, DmaDirection dir, long lba, long phys, long len) {
        boolean prpPossible = (phys & (Nvme.PAGE - 1)) + len <= 2L * Nvme.PAGE;
        if (!sgls && !prpPossible) {
            return AGAIN;
        }
        if (mapper.p2pMapType(p2p, phys) != P2pMapType.NONE) {
            return AGAIN; // is_pci_p2pdma_page: peer memory needs the iterator's P2P handling
        }
        long t0 = System.nanoTime();
        long dma = mapper.mapPhys(phys, len, dir, 0);
        mappingNanos += System.nanoTime() - t0;
        requests++;
        lastSingleSegment = true;
        lastSmallDescriptor = false;
        lastBookkeeping = 0;
        try {
            long dmaOffset = dma & (Nvme.PAGE - 1); // the phys offset whenever a min align mask keeps it, as the kernel assumes
            boolean useSgl = !prpPossible || dmaOffset + len > 2L * Nvme.PAGE;
            if (useSgl && !sgls) {
                throw new IllegalStateException(mapper.device().name() + ": the mapped segment moved to an offset PRPs cannot describe (set a 4 KiB min align mask)");
            }
            if (useSgl) {
                dptr1 = dma;
                dptr2 = len & 0xFFFF_FFFFL; // a data block: type 0 in byte 39
            } else {
                dptr1 = dma;
                dptr2 = len > Nvme.PAGE - dmaOffset ? dma + Nvme.PAGE - dmaOffset : 0;
            }
            lastUsedSgl = useSgl;
            lastPsdt = useSgl ? Nvme.PSDT_SGL : Nvme.PSDT_PRP;
            return submit(io, opcode, lastPsdt, dptr1, dptr2, (int) lba, (int) (lba >>> 32), (int) (len / Nvme.LBA) - 1, 0);
        } finally {
            long t1 = System.nanoTime();
            mapper.unmapPhys(dma, len, dir, 0);
            mappingNanos += System.nanoTime() - t1;
        }
    }

    /**
     * Submits a raw I/O command (for tools and tests that need a malformed one).
     *
     * @return the completion's status code
     */
    public int submitIo(int opcode, int psdt, long lba, int blocksMinusOne, long dptr1, long dptr2) {
        checkUsable();
        return submit(io, opcode, psdt, dptr1, dptr2, (int) lba, (int) (lba >>> 32), blocksMinusOne, 0);
    }

    /** A 4 KiB descriptor page in coherent memory, from the pool (for tools and tests). */
    public CoherentBuffer descriptorPage() {
        CoherentBuffer p = descriptorPages.pollFirst();
        if (p == null) {
            p = mapper.allocCoherent(Nvme.PAGE, 0);
            largePages++;
        }
        inUse.add(p);
        return p;
    }

    /** Returns descriptor pages taken with {@link #descriptorPage()} outside a request. */
    public void releaseDescriptorPages() {
        descriptorPages.addAll(inUse);
        inUse.clear();
    }

    // ---------------------------------------------------------------- PRPs and SGLs

    /** Sets PRP1 and PRP2 for the iterator's ranges, filling and chaining list pages as needed. */
    private void prps(long total) {
        int r = 0;
        long addr = segDma[0];
        long inRange = segLen[0];
        long left = total;
        long prp1 = addr;
        long first = Math.min(left, Nvme.PAGE - (addr & (Nvme.PAGE - 1)));
        addr += first;
        inRange -= first;
        left -= first;
        dptr1 = prp1;
        dptr2 = 0;
        if (left == 0) {
            return;
        }
        if (inRange == 0) {
            r++;
            addr = segDma[r];
            inRange = segLen[r];
        }
        if (left <= Nvme.PAGE) {
            dptr2 = addr;
            return;
        }
        MemorySegment list;
        if ((left + Nvme.PAGE - 1) / Nvme.PAGE <= SMALL_POOL_PRPS) { // a short list: one 256-byte block, never chained
            smallInUse = small.take();
            lastSmallDescriptor = true;
            list = small.cpu(smallInUse);
            dptr2 = small.dma(smallInUse);
        } else {
            CoherentBuffer page = descriptorPage();
            list = page.cpu();
            dptr2 = page.dmaAddress();
        }
        int slot = 0;
        while (left > 0) {
            if (slot == Nvme.PRPS_PER_PAGE - 1 && left > Nvme.PAGE) { // chain to a new list page (only pages get this far)
                CoherentBuffer next = descriptorPage();
                list.set(LONG, 8L * slot, next.dmaAddress());
                list = next.cpu();
                slot = 0;
            }
            long n = Math.min(left, Nvme.PAGE);
            if (inRange < n && left > inRange) {
                throw new IllegalStateException("incorrectly formed request: a segment ends inside a controller page");
            }
            list.set(LONG, 8L * slot++, addr);
            addr += n;
            inRange -= n;
            left -= n;
            if (inRange == 0 && left > 0) {
                r++;
                addr = segDma[r];
                inRange = segLen[r];
            }
        }
    }

    /** Sets the SQE's SGL: one data block, or a Last Segment descriptor pointing at a page of data blocks. */
    private void sgl(int count) {
        if (count == 1) {
            dptr1 = segDma[0];
            dptr2 = segLen[0] & 0xFFFF_FFFFL; // type 0 (data block) in byte 39
            return;
        }
        MemorySegment d;
        long at;
        if (count <= SMALL_POOL_SGLS) {
            smallInUse = small.take();
            lastSmallDescriptor = true;
            d = small.cpu(smallInUse);
            at = small.dma(smallInUse);
        } else {
            CoherentBuffer page = descriptorPage();
            d = page.cpu();
            at = page.dmaAddress();
        }
        for (int i = 0; i < count; i++) {
            d.set(LONG, 16L * i, segDma[i]);
            d.set(INT, 16L * i + 8, (int) segLen[i]);
            d.set(INT, 16L * i + 12, (Nvme.SGL_DATA_BLOCK << 4) << 24); // reserved bytes, then the type in byte 15
        }
        dptr1 = at;
        dptr2 = 16L * count | ((long) (Nvme.SGL_LAST_SEGMENT << 4) << 56);
    }

    // ---------------------------------------------------------------- queues

    private int submit(QueuePair q, int opcode, int psdt, long dptr1, long dptr2, int cdw10, int cdw11, int cdw12, int cdw13) {
        MemorySegment sqe = q.sq.cpu().asSlice((long) q.tail * Nvme.SQE_SIZE, Nvme.SQE_SIZE);
        sqe.fill((byte) 0);
        int id = (cid++) & 0xFFFF;
        sqe.set(INT, 0, (id << 16) | (psdt << 14) | opcode);
        sqe.set(INT, 4, q.qid == 0 ? 0 : 1); // NSID 1 for I/O
        sqe.set(LONG, 24, dptr1);
        sqe.set(LONG, 32, dptr2);
        sqe.set(INT, 40, cdw10);
        sqe.set(INT, 44, cdw11);
        sqe.set(INT, 48, cdw12);
        sqe.set(INT, 52, cdw13);
        q.tail = (q.tail + 1) % q.depth;
        cpu.writeInt(regs + Nvme.sqTailDoorbell(q.qid), q.tail);
        MemorySegment cqe = q.cq.cpu().asSlice((long) q.head * Nvme.CQE_SIZE, Nvme.CQE_SIZE);
        int dw3 = cqe.get(INT, 12);
        if (((dw3 >>> 16) & 1) != (q.phase ? 1 : 0)) {
            String why = mapper.device().name() + ": no completion posted for command " + id;
            if (ready && !resetting) { // the constructor's and the reset's own failures are theirs to handle
                resetController(why);
            }
            throw new IllegalStateException(why + (dead == null ? "; the controller was reset" : "; " + dead));
        }
        q.head = (q.head + 1) % q.depth;
        if (q.head == 0) {
            q.phase = !q.phase;
        }
        cpu.writeInt(regs + Nvme.cqHeadDoorbell(q.qid), q.head);
        return (dw3 >>> 17) & 0x7FFF;
    }
}
