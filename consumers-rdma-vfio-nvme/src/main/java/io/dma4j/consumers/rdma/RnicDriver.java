package io.dma4j.consumers.rdma;

import io.dma4j.hw.Queues;
import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaMapper;
import io.dma4j.consumers.mm.HmmDmaMap;
import io.dma4j.consumers.mm.HmmFaultException;
import io.dma4j.consumers.mm.ProcessMemory;
import io.dma4j.hw.rnic.Rnic;
import io.dma4j.platform.memory.PhysicalAddressSpace;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.function.LongSupplier;

/**
 * An RDMA driver for the RNIC model over the DMA API, in the manner of mlx5_ib with ODP: one
 * queue pair whose send, completion and event queues are coherent DMA memory, doorbells
 * written to BAR 0, a command mailbox for memory keys and translation updates, and ODP
 * memory regions ({@link #registerOdp}) whose pages are faulted in when the NIC reports a
 * page fault: the event names the key, address and bytes; the driver resolves it through
 * {@link OdpMr#prefetch} (the {@link UmemOdp} fault loop, {@code hmm_dma_map_pfn}, the
 * translation update) and resumes the stalled request.
 *
 * <p>Requests are run synchronously: {@link #rdmaWrite} and {@link #rdmaRead} post one work
 * request and return its completion, resolving every page fault on the way.
 *
 * <p>Thread safety: requests are serialised on the driver; invalidations (from any thread)
 * use only the command mailbox, whose use is serialised separately.
 */
public final class RnicDriver implements AutoCloseable {
    /** Send queue entries. */
    public static final int SQ_DEPTH = 64;
    /** Completion queue entries. */
    public static final int CQ_DEPTH = 64;
    /** Event queue entries. */
    public static final int EQ_DEPTH = 16;
    /** Most bytes one page fault resolves (the rest of the request faults again). */
    public static final long MAX_FAULT_BYTES = 4L << 20;
    private static final int MAX_KEYS = 1024;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A work completion: the request id, its status ({@code ibv_wc_status} numbering) and the bytes moved. */
    public record Completion(long wrId, int status, long bytes) {
        /** Whether the request succeeded. */
        public boolean ok() {
            return status == Rnic.WC_SUCCESS;
        }
    }

    /** Told about each page fault the driver resolved: its cost and size. */
    @FunctionalInterface
    public interface FaultObserver {
        /** {@code nanos} spent from reading the event to writing the translation; {@code pages} resolved. */
        void resolved(long nanos, int pages);
    }

    private final DmaMapper mapper;
    private final PhysicalAddressSpace cpu;
    private final long regs;
    private final CoherentBuffer mailbox;
    private final CoherentBuffer xlt;
    private final CoherentBuffer sq;
    private final CoherentBuffer cq;
    private final CoherentBuffer eq;
    private final Object cmdLock = new Object();
    private final MemoryRegion[] mrs = new MemoryRegion[MAX_KEYS];
    private int nextKey = 1;
    private long sqTail;
    private long cqHead;
    private long eqHead;
    private long pageFaults;
    private long faultErrors;
    private long faultNanos;
    private long zaps;
    private FaultObserver observer;
    private boolean closed;

    private RuntimeException lastFaultError;
    private long resumeRetries;

    /**
     * Brings the NIC up: mailbox, translation buffer and the three queues in coherent memory,
     * the queue pair enabled.
     */
    public RnicDriver(DmaMapper mapper, PhysicalAddressSpace cpu) {
        this.mapper = mapper;
        this.cpu = cpu;
        this.regs = mapper.device().bar(0).cpuAddress();
        mailbox = mapper.allocCoherent(Rnic.CMD_SIZE, 0);
        xlt = mapper.allocCoherent(8L * Rnic.XLT_MAX_ENTRIES, 0);
        sq = mapper.allocCoherent((long) SQ_DEPTH * Rnic.WQE_SIZE, 0);
        cq = mapper.allocCoherent((long) CQ_DEPTH * Rnic.CQE_SIZE, 0);
        eq = mapper.allocCoherent((long) EQ_DEPTH * Rnic.EQE_SIZE, 0);
        cpu.writeLong(regs + Rnic.REG_CMD_MAILBOX, mailbox.dmaAddress());
        cpu.writeLong(regs + Rnic.REG_SQ_BASE, sq.dmaAddress());
        cpu.writeLong(regs + Rnic.REG_SQ_SIZE, SQ_DEPTH);
        cpu.writeLong(regs + Rnic.REG_CQ_BASE, cq.dmaAddress());
        cpu.writeLong(regs + Rnic.REG_CQ_SIZE, CQ_DEPTH);
        cpu.writeLong(regs + Rnic.REG_EQ_BASE, eq.dmaAddress());
        cpu.writeLong(regs + Rnic.REG_EQ_SIZE, EQ_DEPTH);
        cpu.writeLong(regs + Rnic.REG_QP_ENABLE, 1);
    }

    /** The mapper the driver uses. */
    public DmaMapper mapper() {
        return mapper;
    }

    /** Sets the observer of resolved page faults (null for none). */
    public synchronized void setFaultObserver(FaultObserver observer) {
        this.observer = observer;
    }

    /** {@link #registerOdp(ProcessMemory, long, long, boolean, HmmDmaMap.Design, LongSupplier)} with the two-step design and the system clock. */
    public OdpMr registerOdp(ProcessMemory mm, long va, long length, boolean writable) {
        return registerOdp(mm, va, length, writable, HmmDmaMap.Design.TWO_STEP, System::nanoTime);
    }

    /**
     * Registers an ODP memory region over {@code [va, va + length)} (rounded out to pages):
     * the umem (its IOVA reservation, its notifier) and a memory key on the NIC with an empty
     * translation table. Nothing is faulted in.
     *
     * @throws IllegalArgumentException for a range {@link UmemOdp#get} refuses
     * @throws UnsupportedOperationException when the device cannot mirror memory (it may bounce)
     * @throws IllegalStateException when the NIC refuses the key or keys run out
     */
    public synchronized OdpMr registerOdp(ProcessMemory mm, long va, long length, boolean writable, HmmDmaMap.Design design, LongSupplier nanoClock) {
        checkOpen();
        int key = freeKey();
        UmemOdp umem = UmemOdp.get(mm, mapper, va, length, writable, design, nanoClock);
        try {
            command(Rnic.CMD_CREATE_MKEY, key, umem.start(), umem.end() - umem.start(), writable ? Rnic.ACCESS_WRITE : 0, 0, "CREATE_MKEY");
        } catch (RuntimeException e) {
            umem.release();
            throw e;
        }
        OdpMr mr = new OdpMr(this, key, umem);
        mrs[key] = mr;
        return mr;
    }

    /**
     * Registers an implicit ODP memory region: one key over the whole user address space,
     * with no umem of its own; the first fault in each 1 GiB window creates a child region
     * (a umem over the window and a child key the parent's window table names), as mlx5's
     * implicit MRs do. Children live until the parent is closed.
     */
    public synchronized OdpMr registerImplicitOdp(ProcessMemory mm, boolean writable, HmmDmaMap.Design design, LongSupplier nanoClock) {
        checkOpen();
        int key = freeKey();
        command(Rnic.CMD_CREATE_MKEY, key, 0, 0, Rnic.ACCESS_IMPLICIT | (writable ? Rnic.ACCESS_WRITE : 0), 0, "CREATE_MKEY (implicit)");
        OdpMr mr = new OdpMr(this, key, new OdpMr.Implicit(mm, writable, design, nanoClock, new java.util.HashMap<>()));
        mrs[key] = mr;
        return mr;
    }

    /** The child of implicit region {@code parent} for window {@code window}, created and named in the parent's window table on first use. */
    /**
     * Registers a memory region over a dma-buf ({@code mlx5_ib_reg_user_mr_dmabuf}): a key over
     * {@code [0, buf.size())} with an empty table; the first request faults the whole buffer in
     * through the importer's mapping; an invalidate zaps the key's entries before the mapping is
     * dropped, so the next request faults and maps again (or completes in error while the buffer
     * is revoked).
     *
     * @throws RuntimeException whatever the exporter refused the attachment with
     */
    public synchronized DmaBufMr registerDmaBuf(io.dma4j.consumers.dmabuf.DmaBuf buf, boolean writable, LongSupplier clock) {
        return registerDmaBuf(buf, writable, false, clock);
    }

    /**
     * A pinned memory region over a dma-buf ({@code ib_umem_dmabuf_get_pinned}): the buffer is
     * pinned at registration and the region cannot honour a revoke, so an exporter that only
     * lets revocable importers pin (VFIO) refuses it; nothing is left registered then.
     */
    public synchronized DmaBufMr registerDmaBufPinned(io.dma4j.consumers.dmabuf.DmaBuf buf, boolean writable, LongSupplier clock) {
        return registerDmaBuf(buf, writable, true, clock);
    }

    private DmaBufMr registerDmaBuf(io.dma4j.consumers.dmabuf.DmaBuf buf, boolean writable, boolean pinned, LongSupplier clock) {
        checkOpen();
        int key = freeKey();
        DmaBufMr mr = new DmaBufMr(this, key, buf, writable, pinned, clock);
        try {
            command(Rnic.CMD_CREATE_MKEY, key, 0, buf.size(), writable ? Rnic.ACCESS_WRITE : 0, 0, "CREATE_MKEY");
        } catch (RuntimeException e) {
            mr.detach();
            throw e;
        }
        mrs[key] = mr;
        return mr;
    }

    synchronized OdpMr childFor(OdpMr parent, long window, OdpMr.Implicit how) {
        synchronized (parent) { // lock order: driver, then region
            OdpMr existing = how.children().get(window);
            if (existing != null) {
                return existing;
            }
            OdpMr child = createChild(parent, window, how);
            how.children().put(window, child);
            return child;
        }
    }

    private OdpMr createChild(OdpMr parent, long window, OdpMr.Implicit how) {
        OdpMr child = registerOdp(how.mm(), window * Rnic.IMPLICIT_WINDOW, Rnic.IMPLICIT_WINDOW, how.writable(), how.design(), how.clock());
        try {
            command(Rnic.CMD_UPDATE_KSM, parent.lkey(), window, child.lkey(), 0, 0, "UPDATE_KSM");
        } catch (RuntimeException e) {
            child.close();
            throw e;
        }
        return child;
    }

    private int freeKey() {
        for (int n = 0; n < MAX_KEYS - 1; n++) {
            int k = nextKey;
            nextKey = nextKey == MAX_KEYS - 1 ? 1 : nextKey + 1;
            if (mrs[k] == null) {
                return k;
            }
        }
        throw new IllegalStateException(mapper.device().name() + ": all " + (MAX_KEYS - 1) + " memory keys are in use");
    }

    synchronized void destroyMr(MemoryRegion mr) {
        command(Rnic.CMD_DESTROY_MKEY, mr.lkey(), 0, 0, 0, 0, "DESTROY_MKEY");
        mrs[mr.lkey()] = null;
    }

    /** Writes {@code n} staged entries at {@code first} of key {@code lkey}'s translation table. */
    void updateXlt(int lkey, int first, long[] staged, int n) {
        synchronized (cmdLock) {
            MemorySegment buf = xlt.cpu();
            for (int i = 0; i < n; i++) {
                buf.set(LONG, 8L * i, staged[i]);
            }
            command(Rnic.CMD_UPDATE_XLT, lkey, first, n, xlt.dmaAddress(), 0, "UPDATE_XLT");
        }
    }

    /** Zeroes entries {@code [first, first + count)} of key {@code lkey} (an invalidation; umem mutex held). */
    void zap(int lkey, int first, int count) {
        synchronized (cmdLock) {
            for (int done = 0; done < count; done += Rnic.XLT_MAX_ENTRIES) {
                command(Rnic.CMD_UPDATE_XLT, lkey, first + done, Math.min(Rnic.XLT_MAX_ENTRIES, count - done), 0, Rnic.XLT_ZAP, "UPDATE_XLT (zap)");
            }
            zaps++;
        }
    }

    private void command(int op, int mkey, long a0, long a1, long a2, int flags, String what) {
        synchronized (cmdLock) {
            MemorySegment m = mailbox.cpu();
            m.fill((byte) 0);
            m.set(INT, Rnic.CMD_OPCODE, op);
            m.set(INT, Rnic.CMD_MKEY, mkey);
            m.set(LONG, Rnic.CMD_ARG0, a0);
            m.set(LONG, Rnic.CMD_ARG1, a1);
            m.set(LONG, Rnic.CMD_ARG2, a2);
            m.set(INT, Rnic.CMD_FLAGS, flags);
            m.set(INT, Rnic.CMD_STATUS, -1);
            cpu.writeLong(regs + Rnic.REG_CMD_DOORBELL, 1);
            int status = m.get(INT, Rnic.CMD_STATUS);
            if (status != Rnic.ST_OK) {
                throw new IllegalStateException(String.format("%s: %s of key %d failed with status %d", mapper.device().name(), what, mkey, status));
            }
        }
    }

    /** RDMA WRITE: {@code length} bytes at {@code va} of {@code mr} to offset {@code remote} of the peer's memory. */
    public Completion rdmaWrite(MemoryRegion mr, long va, long remote, int length, long wrId) {
        return execute(Rnic.OP_RDMA_WRITE, mr, va, remote, length, wrId);
    }

    /** RDMA READ: {@code length} bytes at offset {@code remote} of the peer's memory into {@code va} of {@code mr}. */
    public Completion rdmaRead(MemoryRegion mr, long va, long remote, int length, long wrId) {
        return execute(Rnic.OP_RDMA_READ, mr, va, remote, length, wrId);
    }

    private synchronized Completion execute(int op, MemoryRegion mr, long va, long remote, int length, long wrId) {
        checkOpen();
        MemorySegment q = sq.cpu();
        long w = (sqTail % SQ_DEPTH) * Rnic.WQE_SIZE;
        for (int i = 0; i < Rnic.WQE_SIZE; i += 8) { // clear the slot without a slice object
            q.set(LONG, w + i, 0L);
        }
        q.set(ValueLayout.JAVA_BYTE, w + Rnic.WQE_OPCODE, (byte) op);
        q.set(INT, w + Rnic.WQE_LKEY, mr.lkey());
        q.set(LONG, w + Rnic.WQE_WR_ID, wrId);
        q.set(LONG, w + Rnic.WQE_LOCAL_VA, va);
        q.set(LONG, w + Rnic.WQE_REMOTE, remote);
        q.set(INT, w + Rnic.WQE_LENGTH, length);
        cpu.writeLong(regs + Rnic.REG_SQ_DOORBELL, ++sqTail);
        while (true) {
            long cqe = (cqHead % CQ_DEPTH) * Rnic.CQE_SIZE;
            if (owner(cq, cqe + Rnic.OWNER) == Queues.ownerBit(cqHead, CQ_DEPTH)) {
                MemorySegment c = cq.cpu();
                Completion done = new Completion(c.get(LONG, cqe + Rnic.CQE_WR_ID), c.get(ValueLayout.JAVA_BYTE, cqe + Rnic.CQE_STATUS) & 0xFF,
                        c.get(INT, cqe + Rnic.CQE_BYTES) & 0xFFFF_FFFFL);
                cpu.writeLong(regs + Rnic.REG_CQ_DOORBELL, ++cqHead);
                return done;
            }
            long eqe = (eqHead % EQ_DEPTH) * Rnic.EQE_SIZE;
            if (owner(eq, eqe + Rnic.OWNER) == Queues.ownerBit(eqHead, EQ_DEPTH)) {
                MemorySegment e = eq.cpu();
                int token = e.get(INT, eqe + Rnic.EQE_TOKEN);
                int key = e.get(INT, eqe + Rnic.EQE_MKEY);
                long bytes = e.get(INT, eqe + Rnic.EQE_BYTES) & 0xFFFF_FFFFL;
                long fva = e.get(LONG, eqe + Rnic.EQE_VA);
                boolean write = (e.get(ValueLayout.JAVA_BYTE, eqe + Rnic.EQE_FLAGS) & Rnic.FAULT_WRITE) != 0;
                cpu.writeLong(regs + Rnic.REG_EQ_DOORBELL, ++eqHead);
                pageFault(token, key, fva, bytes, write);
                continue;
            }
            throw new IllegalStateException(String.format("%s: request %d neither completed nor faulted", mapper.device().name(), wrId));
        }
    }

    /** Resolves one page-fault event and resumes the request ({@code mlx5_ib_eqe_pf_action}). */
    private void pageFault(int token, int key, long va, long bytes, boolean write) {
        OdpEvents.PageFault event = new OdpEvents.PageFault();
        event.begin();
        long t0 = System.nanoTime();
        MemoryRegion mr = key > 0 && key < MAX_KEYS ? mrs[key] : null;
        int flags = 0;
        int pages = 0;
        if (mr == null) {
            flags = Rnic.RESUME_ERROR;
        } else {
            long len = Math.min(Math.min(bytes, MAX_FAULT_BYTES), mr.start() + mr.length() - va);
            try {
                pages = mr.prefetch(va, len, write);
            } catch (RuntimeException e) {
                // whatever failed (the page, its mapping, memory, the translation update), the
                // request completes in error and the queue moves on: mlx5_ib_eqe_pf_action
                // resumes the fault with the error flag in every case
                flags = Rnic.RESUME_ERROR;
                lastFaultError = e;
            }
        }
        pageFaults++;
        if (flags != 0) {
            faultErrors++;
        }
        long ns = System.nanoTime() - t0;
        faultNanos += ns;
        if (observer != null && flags == 0) {
            observer.resolved(ns, pages);
        }
        event.end();
        if (event.shouldCommit()) {
            event.device = mapper.device().name();
            event.key = key;
            event.va = va;
            event.bytes = bytes;
            event.pages = pages;
            event.resolved = flags == 0;
            event.commit();
        }
        try {
            command(Rnic.CMD_RESUME_PAGE_FAULT, key, token, 0, 0, flags, "RESUME_PAGE_FAULT");
        } catch (IllegalStateException e) {
            // a stalled request would block the queue for good: the resume is tried once more
            resumeRetries++;
            command(Rnic.CMD_RESUME_PAGE_FAULT, key, token, 0, 0, flags, "RESUME_PAGE_FAULT");
        }
    }

    /** Why the last page fault could not be resolved (its request completed in error), or null. */
    public synchronized RuntimeException lastFaultError() {
        return lastFaultError;
    }

    /** RESUME_PAGE_FAULT commands the device refused and the driver sent again. */
    public synchronized long resumeRetries() {
        return resumeRetries;
    }

    private static int owner(CoherentBuffer q, long at) {
        return q.cpu().get(ValueLayout.JAVA_BYTE, at) & 1;
    }

    /** Page-fault events handled. */
    public synchronized long pageFaults() {
        return pageFaults;
    }

    /** Page-fault events that could not be resolved (the request completed in error). */
    public synchronized long faultErrors() {
        return faultErrors;
    }

    /** Nanoseconds spent resolving page faults. */
    public synchronized long faultNanos() {
        return faultNanos;
    }

    /** Invalidations that zapped translation entries on the NIC. */
    public long zaps() {
        synchronized (cmdLock) {
            return zaps;
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(mapper.device().name() + ": the RNIC driver is closed");
        }
    }

    /** Closes every region still open, stops the queue pair and frees the queues. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        for (MemoryRegion mr : mrs) {
            if (mr != null) {
                mr.close();
            }
        }
        closed = true;
        cpu.writeLong(regs + Rnic.REG_QP_ENABLE, 0);
        for (CoherentBuffer b : new CoherentBuffer[] {eq, cq, sq, xlt, mailbox}) {
            mapper.freeCoherent(b);
        }
    }
}
