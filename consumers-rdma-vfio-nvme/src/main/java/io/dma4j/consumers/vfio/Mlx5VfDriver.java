package io.dma4j.consumers.vfio;

import io.dma4j.hw.Queues;
import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.DmaMappingException;
import io.dma4j.api.ScatterList;
import io.dma4j.hw.mlx5vf.Mlx5Vf;
import io.dma4j.platform.memory.PageAllocationException;
import io.dma4j.platform.memory.PageAllocator;
import io.dma4j.platform.memory.PhysicalAddressSpace;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The core of an mlx5 VFIO variant driver over the DMA API (drivers/vfio/pci/mlx5/cmd.c): the
 * VF's command mailbox and event queue in coherent DMA memory, migration data buffers as page
 * arrays ({@link DataBuffer}), their DMA registration ({@code register_dma_pages}) and memory
 * keys. Migration itself is {@link Mlx5VfMigration}; dirty tracking is {@link PageTracker}.
 *
 * <p><b>Registration</b> ({@link Registration#TWO_STEP}, as since v6.16): one
 * {@link DmaMapper#iovaTryAlloc} for the buffer; page <i>i</i> linked at offset
 * <i>i</i> × 4 KiB and MTT entry <i>i</i> = IOVA + <i>i</i> × 4 KiB; one
 * {@link DmaMapper#iovaSync}. When try-alloc answers false, each page is mapped with
 * {@link DmaMapper#mapPhys} and the MTT is the only record of the addresses (unregistering
 * reads it back, big-endian, and unmaps in reverse). A failure part way unregisters the pages
 * done. {@link Registration#CLASSIC} (before v6.16) maps a scatter-gather table of the pages'
 * contiguous runs instead. The device gets one MTT entry per page in every case.
 *
 * <p><b>Destruction order</b> ({@link #freeDataBuffer}): memory key, DMA mapping, command
 * buffer, pages.
 *
 * <p>Thread safety: all methods are safe to call from any thread; commands are serialised.
 */
public final class Mlx5VfDriver implements AutoCloseable {
    /** The page size of data buffers. */
    public static final int PAGE = Mlx5Vf.PAGE;
    /** Event queue entries (a tracker report may use one per receive message). */
    public static final int EQ_DEPTH = 1024;
    static final ValueLayout.OfLong LONG_BE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One event from the device's event queue. */
    record Event(int type, int status, int token, long out0, long out1, int state) {
    }

    private final DmaMapper mapper;
    private final PhysicalAddressSpace cpu;
    private final PageAllocator allocator;
    private final Registration registration;
    private final long regs;
    private final CoherentBuffer mailbox;
    private final CoherentBuffer eq;
    private long eqHead;
    private int nextToken = 1;
    private boolean closed;
    // figures
    private long buffersAllocated;
    private long pagesRegistered;
    private long iovaAllocations;
    private long fallbackBuffers;
    private long bookkeeping;
    private long peakBookkeeping;
    private long commandErrors;
    private long registrations;
    private long bookkeepingRegistered;

    /**
     * Brings the VF's command interface up: mailbox and event queue in coherent memory.
     *
     * @param mapper the VF's mapper
     * @param cpu the CPU's view of memory (BAR registers, page contents)
     * @param allocator where data buffer pages come from
     * @param registration how data buffers are DMA-mapped
     */
    public Mlx5VfDriver(DmaMapper mapper, PhysicalAddressSpace cpu, PageAllocator allocator, Registration registration) {
        this.mapper = mapper;
        this.cpu = cpu;
        this.allocator = allocator;
        this.registration = registration;
        this.regs = mapper.device().bar(0).cpuAddress();
        mailbox = mapper.allocCoherent(Mlx5Vf.CMD_SIZE, 0);
        eq = mapper.allocCoherent((long) EQ_DEPTH * Mlx5Vf.EQE_SIZE, 0);
        cpu.writeLong(regs + Mlx5Vf.REG_CMD_MAILBOX, mailbox.dmaAddress());
        cpu.writeLong(regs + Mlx5Vf.REG_EQ_BASE, eq.dmaAddress());
        cpu.writeLong(regs + Mlx5Vf.REG_EQ_SIZE, EQ_DEPTH);
        cpu.writeLong(regs + Mlx5Vf.REG_EQ_ENABLE, 1);
    }

    /** The VF's mapper. */
    public DmaMapper mapper() {
        return mapper;
    }

    /** The device name. */
    public String name() {
        return mapper.device().name();
    }

    /** How data buffers are mapped. */
    public Registration registration() {
        return registration;
    }

    PhysicalAddressSpace cpu() {
        return cpu;
    }

    /** A read-only capability register. */
    long capability(long offset) {
        return cpu.readLong(regs + offset);
    }

    // ------------------------------------------------------------------ commands

    /** Runs a synchronous command and returns OUT0; a device error becomes {@code EIO} naming the command and status. */
    synchronized long command(int op, int mkey, long a0, long a1, long a2, int flags, String what) {
        return submit(op, mkey, a0, a1, a2, flags, 0, what);
    }

    /** OUT1 of the last command. */
    synchronized long lastOut1() {
        return mailbox.cpu().get(LONG, Mlx5Vf.CMD_OUT1);
    }

    /** Submits an asynchronous command; its result is the event with the returned token (see {@link #awaitEvent}). */
    synchronized int submitAsync(int op, int mkey, long a0, int flags, String what) {
        int token = nextToken;
        nextToken = nextToken == Integer.MAX_VALUE ? 1 : nextToken + 1;
        submit(op, mkey, a0, 0, 0, flags, token, what);
        return token;
    }

    private long submit(int op, int mkey, long a0, long a1, long a2, int flags, int token, String what) {
        checkOpen();
        MemorySegment m = mailbox.cpu();
        m.fill((byte) 0);
        m.set(INT, Mlx5Vf.CMD_OPCODE, op);
        m.set(INT, Mlx5Vf.CMD_MKEY, mkey);
        m.set(LONG, Mlx5Vf.CMD_ARG0, a0);
        m.set(LONG, Mlx5Vf.CMD_ARG1, a1);
        m.set(LONG, Mlx5Vf.CMD_ARG2, a2);
        m.set(INT, Mlx5Vf.CMD_FLAGS, flags);
        m.set(INT, Mlx5Vf.CMD_TOKEN, token);
        m.set(INT, Mlx5Vf.CMD_STATUS, -1);
        cpu.writeLong(regs + Mlx5Vf.REG_CMD_DOORBELL, 1);
        int status = m.get(INT, Mlx5Vf.CMD_STATUS);
        if (status != Mlx5Vf.ST_OK) {
            commandErrors++;
            throw new VfioMigrationException("EIO", String.format("%s: %s failed with device status %d (%s)", name(), what, status, statusName(status)));
        }
        return m.get(LONG, Mlx5Vf.CMD_OUT0);
    }

    /**
     * The next event, which must carry {@code token}: the device completes commands in order,
     * so anything else is a protocol error.
     */
    synchronized Event awaitEvent(int token, String what) {
        Event e = nextEvent();
        if (e == null) {
            throw new VfioMigrationException("EIO", name() + ": " + what + " did not complete");
        }
        if (e.token() != token) {
            throw new VfioMigrationException("EIO", String.format("%s: %s: event for token %d while waiting for %d", name(), what, e.token(), token));
        }
        if (e.status() != Mlx5Vf.ST_OK) {
            commandErrors++;
        }
        return e;
    }

    /** The next event on the queue, or null when there is none. */
    synchronized Event nextEvent() {
        long at = (eqHead % EQ_DEPTH) * Mlx5Vf.EQE_SIZE;
        MemorySegment q = eq.cpu();
        if ((q.get(ValueLayout.JAVA_BYTE, at + Mlx5Vf.OWNER) & 1) != Queues.ownerBit(eqHead, EQ_DEPTH)) {
            return null;
        }
        Event e = new Event(q.get(ValueLayout.JAVA_BYTE, at + Mlx5Vf.EQE_TYPE) & 0xFF, q.get(ValueLayout.JAVA_BYTE, at + Mlx5Vf.EQE_STATUS) & 0xFF,
                q.get(INT, at + Mlx5Vf.EQE_TOKEN), q.get(LONG, at + Mlx5Vf.EQE_OUT0), q.get(LONG, at + Mlx5Vf.EQE_OUT1), q.get(INT, at + Mlx5Vf.EQE_STATE));
        cpu.writeLong(regs + Mlx5Vf.REG_EQ_DOORBELL, ++eqHead);
        return e;
    }

    /** The name of a device status code. */
    static String statusName(int status) {
        return switch (status) {
            case Mlx5Vf.ST_OK -> "ok";
            case Mlx5Vf.ST_BAD_OPCODE -> "bad opcode";
            case Mlx5Vf.ST_BAD_RESOURCE -> "bad resource";
            case Mlx5Vf.ST_BAD_PARAM -> "bad parameter";
            case Mlx5Vf.ST_DMA_ERROR -> "DMA error";
            case Mlx5Vf.ST_BAD_SIZE -> "buffer too small";
            case Mlx5Vf.ST_BAD_RES_STATE -> "bad resource state";
            case Mlx5Vf.ST_BAD_IMAGE -> "bad image";
            case Mlx5Vf.ST_INTERNAL_ERROR -> "internal error";
            default -> "unknown";
        };
    }

    // ------------------------------------------------------------------ data buffers

    /**
     * {@code mlx5vf_alloc_data_buffer}: {@code npages} pages, then (unless {@code dir} is
     * null) DMA-mapped and given a memory key.
     *
     * @throws VfioMigrationException {@code ENOMEM} when pages run out (nothing is kept), or
     *         the mapping's failure (nothing is kept)
     */
    public DataBuffer allocDataBuffer(int npages, DmaDirection dir) {
        if (npages <= 0) {
            throw new IllegalArgumentException("npages: " + npages + " (expected: > 0)");
        }
        long[] pages = new long[npages];
        int got = 0;
        try {
            for (; got < npages; got++) {
                pages[got] = allocator.allocPages(0);
            }
        } catch (PageAllocationException e) {
            for (int i = 0; i < got; i++) {
                allocator.freePages(pages[i]);
            }
            throw new VfioMigrationException("ENOMEM", String.format("%s: no memory for a %d-page migration buffer (%d pages allocated)", name(), npages, got), e);
        }
        DataBuffer buf = new DataBuffer(pages, dir);
        synchronized (this) {
            buffersAllocated++;
        }
        if (dir != null) {
            try {
                dmaMap(buf, dir);
            } catch (RuntimeException e) {
                freePages(buf);
                throw e;
            }
        }
        return buf;
    }

    /**
     * {@code mlx5vf_dmamap_data_buffer}: the command buffer with the MTT, the DMA registration
     * (as {@link #registration()} says), the memory key. Does nothing when the buffer is
     * already mapped.
     *
     * @throws VfioMigrationException {@code ENOMEM} when the mapping fails, or the device's
     *         error for CREATE_MKEY; nothing stays mapped
     */
    public synchronized void dmaMap(DataBuffer buf, DmaDirection dir) {
        if (buf.dmaed) {
            return;
        }
        int n = buf.pages.length;
        try {
            buf.mkeyIn = mapper.allocCoherent(Mlx5Vf.MKEY_IN_HEADER + 8L * (n + (n & 1)), 0); // alloc_mkey_in: round_up(npages, 2) entries
        } catch (DmaMappingException e) {
            throw new VfioMigrationException("ENOMEM", String.format("%s: no memory for the create-mkey command of a %d-page buffer: %s", name(), n, e.getMessage()), e);
        }
        MemorySegment in = buf.mkeyIn.cpu();
        in.set(INT, Mlx5Vf.MKEY_IN_OCTWORDS, (n + 1) / 2);
        in.set(ValueLayout.JAVA_BYTE, Mlx5Vf.MKEY_IN_LOG_PAGE, (byte) 12);
        in.set(ValueLayout.JAVA_BYTE, Mlx5Vf.MKEY_IN_ACCESS,
                (byte) (Mlx5Vf.ACCESS_LOCAL_READ | Mlx5Vf.ACCESS_LOCAL_WRITE | Mlx5Vf.ACCESS_REMOTE_READ | Mlx5Vf.ACCESS_REMOTE_WRITE));
        in.set(LONG, Mlx5Vf.MKEY_IN_LEN, (long) n * PAGE);
        try {
            if (registration == Registration.CLASSIC) {
                registerSg(buf, dir);
            } else {
                registerDmaPages(buf, dir);
            }
        } catch (RuntimeException e) {
            mapper.freeCoherent(buf.mkeyIn);
            buf.mkeyIn = null;
            throw e;
        }
        try {
            buf.mkey = (int) command(Mlx5Vf.CMD_CREATE_MKEY, 0, buf.mkeyIn.dmaAddress(), n, 0, 0, "CREATE_MKEY");
        } catch (RuntimeException e) {
            unregister(buf, n, dir);
            mapper.freeCoherent(buf.mkeyIn);
            buf.mkeyIn = null;
            throw e;
        }
        buf.dmaed = true;
        buf.mappedDir = dir;
        pagesRegistered += n;
        registrations++;
        bookkeepingRegistered += buf.bookkeepingBytes();
        bookkeeping += buf.bookkeepingBytes();
        peakBookkeeping = Math.max(peakBookkeeping, bookkeeping);
    }

    /** {@code register_dma_pages}: the IOVA path, or each page mapped with the MTT as the record. */
    private void registerDmaPages(DataBuffer buf, DmaDirection dir) {
        MemorySegment in = buf.mkeyIn.cpu();
        int n = buf.pages.length;
        int i = 0;
        try {
            if (registration == Registration.TWO_STEP && mapper.iovaTryAlloc(buf.state, 0, (long) n * PAGE)) {
                iovaAllocations++;
                long base = buf.state.addr();
                for (; i < n; i++) {
                    mapper.iovaLink(buf.state, buf.pages[i], (long) i * PAGE, PAGE, dir, 0);
                    in.set(LONG_BE, Mlx5Vf.MKEY_IN_HEADER + 8L * i, base + (long) i * PAGE);
                }
                mapper.iovaSync(buf.state, 0, (long) n * PAGE);
            } else {
                fallbackBuffers++;
                for (; i < n; i++) {
                    in.set(LONG_BE, Mlx5Vf.MKEY_IN_HEADER + 8L * i, mapper.mapPhys(buf.pages[i], PAGE, dir, 0));
                }
            }
        } catch (DmaMappingException | IllegalStateException e) {
            unregister(buf, i, dir);
            throw new VfioMigrationException("ENOMEM", String.format("%s: cannot map page %d of a %d-page buffer: %s", name(), i, n, e.getMessage()), e);
        }
    }

    /** The pre-6.16 registration: a scatter-gather table of the contiguous runs, mapped in one call. */
    private void registerSg(DataBuffer buf, DmaDirection dir) {
        long[] p = buf.pages;
        int runs = 0;
        for (int i = 0; i < p.length; i++) {
            if (i == 0 || p[i] != p[i - 1] + PAGE) {
                runs++;
            }
        }
        ScatterList sg = new ScatterList(runs);
        int e = -1;
        for (int i = 0; i < p.length; i++) {
            if (i == 0 || p[i] != p[i - 1] + PAGE) {
                sg.set(++e, p[i], PAGE);
            } else {
                sg.set(e, sg.phys(e), sg.length(e) + PAGE);
            }
        }
        int mapped;
        try {
            mapped = mapper.mapSg(sg, runs, dir, 0);
        } catch (DmaMappingException e2) {
            throw new VfioMigrationException("ENOMEM", name() + ": cannot map a " + p.length + "-page buffer: " + e2.getMessage(), e2);
        }
        MemorySegment in = buf.mkeyIn.cpu();
        int page = 0;
        for (int s = 0; s < mapped; s++) {
            for (long off = 0; off < sg.dmaLength(s); off += PAGE) {
                in.set(LONG_BE, Mlx5Vf.MKEY_IN_HEADER + 8L * page++, sg.dmaAddress(s) + off);
            }
        }
        buf.sg = sg;
        buf.sgEntries = runs;
    }

    /** {@code unregister_dma_pages} for the first {@code n} pages. */
    private void unregister(DataBuffer buf, int n, DmaDirection dir) {
        if (buf.sg != null) {
            mapper.unmapSg(buf.sg, buf.sgEntries, dir, 0);
            buf.sg = null;
            return;
        }
        if (buf.state.useIova()) {
            mapper.iovaDestroy(buf.state, (long) n * PAGE, dir, 0);
            return;
        }
        for (int i = n - 1; i >= 0; i--) { // the MTT is the record of what was mapped
            mapper.unmapPhys(buf.mtt(i), PAGE, dir, 0);
        }
    }

    /**
     * Undoes {@link #dmaMap}: key, DMA, command buffer (the pages stay, so the buffer can be
     * mapped again). Does nothing when the buffer is not mapped. A DESTROY_MKEY the device
     * refuses is rethrown after the DMA side is torn down all the same.
     */
    public synchronized void dmaUnmap(DataBuffer buf) {
        if (!buf.dmaed) {
            return;
        }
        RuntimeException failure = null;
        try {
            command(Mlx5Vf.CMD_DESTROY_MKEY, buf.mkey, 0, 0, 0, 0, "DESTROY_MKEY");
        } catch (RuntimeException e) {
            failure = e; // the mapping is still torn down: nothing is left behind
        }
        bookkeeping -= buf.bookkeepingBytes();
        unregister(buf, buf.pages.length, buf.mappedDir);
        mapper.freeCoherent(buf.mkeyIn);
        buf.mkeyIn = null;
        buf.mkey = 0;
        buf.dmaed = false;
        if (failure != null) {
            throw failure;
        }
    }

    /** {@code mlx5vf_free_data_buffer}: memory key, DMA mapping, command buffer, then the pages. */
    public void freeDataBuffer(DataBuffer buf) {
        if (buf.freed) {
            return;
        }
        try {
            dmaUnmap(buf);
        } finally {
            freePages(buf);
        }
    }

    private void freePages(DataBuffer buf) {
        buf.freed = true;
        for (long p : buf.pages) {
            allocator.freePages(p);
        }
    }

    /** Copies {@code len} bytes at {@code offset} of the buffer into {@code dst} at {@code dstOffset}. */
    void read(DataBuffer buf, long offset, MemorySegment dst, long dstOffset, long len) {
        copy(buf, offset, dst, dstOffset, len, false);
    }

    /** Copies {@code len} bytes of {@code src} at {@code srcOffset} to {@code offset} of the buffer. */
    void write(DataBuffer buf, long offset, MemorySegment src, long srcOffset, long len) {
        copy(buf, offset, src, srcOffset, len, true);
    }

    /** Page by page between the buffer at {@code offset} and {@code seg} at {@code segOffset}. */
    private void copy(DataBuffer buf, long offset, MemorySegment seg, long segOffset, long len, boolean intoBuffer) {
        while (len > 0) {
            long in = offset % PAGE;
            long n = Math.min(len, PAGE - in);
            long phys = buf.pages[(int) (offset / PAGE)] + in;
            if (intoBuffer) {
                cpu.write(phys, seg, segOffset, n);
            } else {
                cpu.read(phys, seg, segOffset, n);
            }
            offset += n;
            segOffset += n;
            len -= n;
        }
    }

    // ------------------------------------------------------------------ figures

    /** Data buffers allocated so far. */
    public synchronized long buffersAllocated() {
        return buffersAllocated;
    }

    /** Pages DMA-registered so far (counting re-registrations). */
    public synchronized long pagesRegistered() {
        return pagesRegistered;
    }

    /** Buffer registrations (DMA mappings with a key) so far. */
    public synchronized long registrations() {
        return registrations;
    }

    /** Mapping bookkeeping bytes per registered page, over every registration so far. */
    public synchronized double bookkeepingPerPage() {
        return pagesRegistered == 0 ? 0 : (double) bookkeepingRegistered / pagesRegistered;
    }

    /** Mapping bookkeeping of every registration so far (the numerator of {@link #bookkeepingPerPage()}). */
    public synchronized long bookkeepingRegisteredBytes() {
        return bookkeepingRegistered;
    }

    /**
     * Points the VF's workload window at {@code [dma, dma + length)} of guest memory (what a
     * guest driver programs: where the VF's own traffic lands while it runs).
     */
    public void setWorkloadWindow(long dma, long length) {
        cpu.writeLong(regs + Mlx5Vf.REG_WL_BASE, dma);
        cpu.writeLong(regs + Mlx5Vf.REG_WL_LEN, length);
    }

    /** Buffers registered through one IOVA allocation. */
    public synchronized long iovaAllocations() {
        return iovaAllocations;
    }

    /** Buffers registered page by page because try-alloc answered false. */
    public synchronized long fallbackBuffers() {
        return fallbackBuffers;
    }

    /** The most mapping bookkeeping (see {@link DataBuffer#bookkeepingBytes()}) live at once. */
    public synchronized long peakBookkeepingBytes() {
        return peakBookkeeping;
    }

    /** Mapping bookkeeping live now. */
    public synchronized long bookkeepingBytes() {
        return bookkeeping;
    }

    /** Commands or events that reported a device error. */
    public synchronized long commandErrors() {
        return commandErrors;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(name() + ": the mlx5 VF driver is closed");
        }
    }

    /** Stops the event queue and frees the mailbox and the queue. Buffers must have been freed by their owners. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        cpu.writeLong(regs + Mlx5Vf.REG_EQ_ENABLE, 0);
        mapper.freeCoherent(eq);
        mapper.freeCoherent(mailbox);
    }
}
