package io.dma4j.devices.rnic;

import io.dma4j.platform.fault.FaultInjector;
import io.dma4j.hw.Queues;
import io.dma4j.hw.rnic.Rnic;
import io.dma4j.platform.ByteSize;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.device.DeviceModel;
import io.dma4j.platform.device.DeviceModelFactory;
import io.dma4j.platform.device.DmaPort;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.platform.memory.RegisterHandler;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

/**
 * An RDMA NIC model with on-demand paging (the built-in machine's {@code rnic0}): one queue
 * pair whose send, completion and event queues live in host memory reached only through the
 * device's DMA port, a command mailbox, memory keys with the NIC's own translation table
 * (one entry per 4 KiB page, {@code dma | READ | WRITE}), and the far end of the wire: the
 * remote peer's memory, {@link #remoteMemory()}, which RDMA WRITEs fill and RDMA READs
 * drain. Layouts: {@link Rnic}.
 *
 * <p>A request is carried out page by page, each page translated through the key's table at
 * the moment it is moved. An entry that is not present (or not writable when the request
 * writes host memory) raises a page-fault event with a token and stalls the send queue at
 * that request; {@link Rnic#CMD_RESUME_PAGE_FAULT} continues it from the faulting page, which
 * is translated again, so a page invalidated meanwhile faults again and the old frame is
 * never reached through the table. A DMA access that the IOMMU refuses completes the request
 * with {@link Rnic#WC_LOC_ACCESS_ERR}. Commands and queue processing run inside the doorbell
 * write.
 *
 * <p>Differences from mlx5 kept on purpose: requests are the requester side of one RC queue
 * pair (RDMA WRITE/READ with the local buffer in an ODP key; mlx5 resolves requester and
 * responder faults by the same path), the remote peer is memory inside the model rather than
 * a second machine, and the translation table is written by a command rather than a UMR work
 * request.
 *
 * <p>Thread safety: register accesses are serialised, so a command (a zap of entries) never
 * runs in the middle of a page being moved.
 */
public final class RnicModel implements DeviceModel, RegisterHandler {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final class Mkey {
        final long start;
        final long length;
        final int access;
        final long[] mtt;
        final Map<Long, Integer> ksm;

        Mkey(long start, long length, int access) {
            this.start = start;
            this.length = length;
            this.access = access;
            boolean implicit = (access & Rnic.ACCESS_IMPLICIT) != 0;
            this.mtt = implicit ? new long[0] : new long[(int) (length / Rnic.PAGE)];
            this.ksm = implicit ? new HashMap<>() : null;
        }
    }

    private final Device device;
    private final DmaPort port;
    private final long remoteBytes;
    private final MemorySegment cmd = Arena.ofAuto().allocate(Rnic.CMD_SIZE);
    private final MemorySegment wqe = Arena.ofAuto().allocate(Rnic.WQE_SIZE);
    private final MemorySegment entry = Arena.ofAuto().allocate(Rnic.CQE_SIZE);
    private final MemorySegment xlt = Arena.ofAuto().allocate(8L * Rnic.XLT_MAX_ENTRIES);
    private final Map<Integer, Mkey> mkeys = new HashMap<>();
    private final long[] regs = new long[(int) (Rnic.REG_QP_ENABLE / 8) + 1];
    private Arena remoteArena;
    private MemorySegment remote;
    private boolean enabled;
    private long sqHead;
    private long sqTail;
    private long cqTail;
    private long cqHead;
    private long eqTail;
    private long eqHead;
    // the request being carried out (kept across a page-fault stall)
    private boolean loaded;
    private int opcode;
    private int lkey;
    private long wrId;
    private long localVa;
    private long remoteOff;
    private long length;
    private long progress;
    private int stalledToken;
    private int nextToken = 1;
    private long pageFaults;
    private long completions;
    private long errors;
    private long commands;

    /**
     * A model for {@code device}. Model option {@code remoteMemory}: the remote peer's memory
     * (default 64MiB, allocated on first use).
     *
     * @throws IllegalArgumentException naming the option when it is not a positive size
     */
    public RnicModel(Device device) {
        this.device = device;
        this.port = device.port();
        String text = device.modelOptions().getOrDefault("remoteMemory", "64MiB");
        long size = ByteSize.parseOption("remoteMemory", text);
        if (size <= 0) {
            throw new IllegalArgumentException("remoteMemory: " + text + " (expected: > 0)");
        }
        this.remoteBytes = size;
    }

    @Override
    public Device device() {
        return device;
    }

    /** The remote peer's memory: what RDMA WRITEs deliver and RDMA READs fetch (allocated on first call). */
    public synchronized MemorySegment remoteMemory() {
        if (remote == null) {
            remoteArena = Arena.ofShared();
            remote = remoteArena.allocate(remoteBytes, 4096);
        }
        return remote;
    }

    /** Page-fault events raised so far. */
    public synchronized long pageFaults() {
        return pageFaults;
    }

    /** Completions written so far (successful or not). */
    public synchronized long completions() {
        return completions;
    }

    /** Completions with an error status so far. */
    public synchronized long errorCompletions() {
        return errors;
    }

    /** Commands run so far. */
    public synchronized long commands() {
        return commands;
    }

    /** Whether the send queue is stalled on a page fault. */
    public synchronized boolean stalled() {
        return stalledToken != 0;
    }

    /** The translation entry for page {@code index} of key {@code mkey} (what the NIC would use now). */
    public synchronized long translationEntry(int mkey, int index) {
        Mkey k = mkeys.get(mkey);
        if (k == null) {
            throw new IllegalArgumentException("no memory key " + mkey + " on " + device.name());
        }
        return k.mtt[index];
    }

    /** The child key an implicit key names for window {@code window}, or 0. */
    public synchronized int implicitChild(int mkey, long window) {
        Mkey k = mkeys.get(mkey);
        if (k == null || k.ksm == null) {
            throw new IllegalArgumentException("no implicit memory key " + mkey + " on " + device.name());
        }
        return k.ksm.getOrDefault(window, 0);
    }

    @Override
    public synchronized void reset() {
        mkeys.clear();
        java.util.Arrays.fill(regs, 0);
        enabled = false;
        loaded = false;
        stalledToken = 0;
        sqHead = sqTail = cqTail = cqHead = eqTail = eqHead = 0;
    }

    @Override
    public synchronized void close() {
        if (remoteArena != null) {
            remoteArena.close();
            remoteArena = null;
            remote = null;
        }
    }

    @Override
    public synchronized long readRegister(long offset, int width) {
        int i = (int) (offset / 8);
        long v = offset % 8 == 0 && i < regs.length ? regs[i] : 0;
        return width == 8 ? v : v & ((1L << (8 * width)) - 1);
    }

    @Override
    public synchronized void writeRegister(long offset, int width, long value) {
        if (offset % 8 != 0 || offset / 8 >= regs.length) {
            return;
        }
        regs[(int) (offset / 8)] = value;
        if (offset == Rnic.REG_CMD_DOORBELL) {
            command();
        } else if (offset == Rnic.REG_QP_ENABLE) {
            enabled = value == 1 && validQueue(Rnic.REG_SQ_SIZE) && validQueue(Rnic.REG_CQ_SIZE) && validQueue(Rnic.REG_EQ_SIZE);
            loaded = false;
            stalledToken = 0;
            sqHead = sqTail = cqTail = cqHead = eqTail = eqHead = 0;
        } else if (offset == Rnic.REG_SQ_DOORBELL) {
            sqTail = value;
            process();
        } else if (offset == Rnic.REG_CQ_DOORBELL) {
            cqHead = value;
            process(); // room in the CQ may let the queue go on
        } else if (offset == Rnic.REG_EQ_DOORBELL) {
            eqHead = value;
        }
    }

    private boolean validQueue(long sizeReg) {
        long n = regs[(int) (sizeReg / 8)];
        return n > 0 && n <= 1 << 16 && Long.bitCount(n) == 1;
    }

    private long reg(long offset) {
        return regs[(int) (offset / 8)];
    }

    // ------------------------------------------------------------------ commands

    private void command() {
        long mailbox = reg(Rnic.REG_CMD_MAILBOX);
        if (port.read(mailbox, cmd, 0, Rnic.CMD_SIZE) < Rnic.CMD_SIZE) {
            return; // no mailbox to answer in: the driver sees no status change
        }
        commands++;
        FaultInjector fi = port.faultInjector();
        int status = fi.armed() && fi.shouldFail(FaultInjector.Point.DEVICE_COMMAND, device.name()) ? Rnic.ST_INTERNAL_ERROR
                : run(cmd.get(INT, Rnic.CMD_OPCODE), cmd.get(INT, Rnic.CMD_MKEY), cmd.get(LONG, Rnic.CMD_ARG0), cmd.get(LONG, Rnic.CMD_ARG1),
                        cmd.get(LONG, Rnic.CMD_ARG2), cmd.get(INT, Rnic.CMD_FLAGS));
        cmd.set(INT, Rnic.CMD_STATUS, status);
        port.write(mailbox + Rnic.CMD_STATUS, cmd, Rnic.CMD_STATUS, 4);
        if (status == Rnic.ST_OK && cmd.get(INT, Rnic.CMD_OPCODE) == Rnic.CMD_RESUME_PAGE_FAULT) {
            process();
        }
    }

    private int run(int op, int mkey, long arg0, long arg1, long arg2, int flags) {
        switch (op) {
            case Rnic.CMD_CREATE_MKEY -> {
                if (mkeys.containsKey(mkey) || mkey == 0) {
                    return Rnic.ST_BAD_MKEY;
                }
                if ((arg2 & Rnic.ACCESS_IMPLICIT) != 0) {
                    mkeys.put(mkey, new Mkey(0, Rnic.IMPLICIT_END, (int) arg2));
                    return Rnic.ST_OK;
                }
                if (arg1 <= 0 || arg0 % Rnic.PAGE != 0 || arg1 % Rnic.PAGE != 0 || arg0 + arg1 < arg0 || arg1 / Rnic.PAGE > Integer.MAX_VALUE - 8) {
                    return Rnic.ST_BAD_RANGE;
                }
                mkeys.put(mkey, new Mkey(arg0, arg1, (int) arg2));
                return Rnic.ST_OK;
            }
            case Rnic.CMD_DESTROY_MKEY -> {
                return mkeys.remove(mkey) == null ? Rnic.ST_BAD_MKEY : Rnic.ST_OK;
            }
            case Rnic.CMD_UPDATE_XLT -> {
                Mkey k = mkeys.get(mkey);
                if (k == null) {
                    return Rnic.ST_BAD_MKEY;
                }
                if (arg0 < 0 || arg1 <= 0 || arg1 > Rnic.XLT_MAX_ENTRIES || arg0 + arg1 > k.mtt.length) {
                    return Rnic.ST_BAD_RANGE;
                }
                int first = (int) arg0;
                int n = (int) arg1;
                if ((flags & Rnic.XLT_ZAP) != 0) {
                    java.util.Arrays.fill(k.mtt, first, first + n, 0L);
                    return Rnic.ST_OK;
                }
                if (port.read(arg2, xlt, 0, 8L * n) < 8L * n) {
                    return Rnic.ST_DMA_ERROR;
                }
                for (int i = 0; i < n; i++) {
                    k.mtt[first + i] = xlt.get(LONG, 8L * i);
                }
                return Rnic.ST_OK;
            }
            case Rnic.CMD_UPDATE_KSM -> {
                Mkey k = mkeys.get(mkey);
                if (k == null || k.ksm == null) {
                    return Rnic.ST_BAD_MKEY;
                }
                if (arg0 < 0 || arg0 >= Rnic.IMPLICIT_END / Rnic.IMPLICIT_WINDOW) {
                    return Rnic.ST_BAD_RANGE;
                }
                if (arg1 == 0) {
                    k.ksm.remove(arg0);
                    return Rnic.ST_OK;
                }
                Mkey child = mkeys.get((int) arg1);
                if (child == null || child.ksm != null || child.start != arg0 * Rnic.IMPLICIT_WINDOW || child.length != Rnic.IMPLICIT_WINDOW) {
                    return Rnic.ST_BAD_MKEY;
                }
                k.ksm.put(arg0, (int) arg1);
                return Rnic.ST_OK;
            }
            case Rnic.CMD_RESUME_PAGE_FAULT -> {
                if (stalledToken == 0 || arg0 != stalledToken) {
                    return Rnic.ST_BAD_TOKEN;
                }
                stalledToken = 0;
                if ((flags & Rnic.RESUME_ERROR) != 0) {
                    complete(Rnic.WC_LOC_ACCESS_ERR, progress);
                }
                return Rnic.ST_OK;
            }
            default -> {
                return Rnic.ST_BAD_OPCODE;
            }
        }
    }

    // ------------------------------------------------------------------ the send queue

    private void process() {
        if (!enabled) {
            return;
        }
        long sqSize = reg(Rnic.REG_SQ_SIZE);
        long cqSize = reg(Rnic.REG_CQ_SIZE);
        while (stalledToken == 0 && (loaded || sqHead != sqTail) && cqTail - cqHead < cqSize) {
            if (!loaded) {
                long at = reg(Rnic.REG_SQ_BASE) + (sqHead % sqSize) * Rnic.WQE_SIZE;
                loaded = true;
                progress = 0;
                if (port.read(at, wqe, 0, Rnic.WQE_SIZE) < Rnic.WQE_SIZE) {
                    opcode = 0;
                    wrId = 0;
                    complete(Rnic.WC_LOC_ACCESS_ERR, 0);
                    continue;
                }
                opcode = wqe.get(ValueLayout.JAVA_BYTE, Rnic.WQE_OPCODE) & 0xFF;
                lkey = wqe.get(INT, Rnic.WQE_LKEY);
                wrId = wqe.get(LONG, Rnic.WQE_WR_ID);
                localVa = wqe.get(LONG, Rnic.WQE_LOCAL_VA);
                remoteOff = wqe.get(LONG, Rnic.WQE_REMOTE);
                length = wqe.get(INT, Rnic.WQE_LENGTH) & 0xFFFF_FFFFL;
                int bad = check();
                if (bad != Rnic.WC_SUCCESS) {
                    complete(bad, 0);
                    continue;
                }
            }
            execute();
        }
    }

    private int check() {
        if (opcode != Rnic.OP_RDMA_WRITE && opcode != Rnic.OP_RDMA_READ) {
            return Rnic.WC_LOC_QP_OP_ERR;
        }
        if (remoteOff < 0 || length > remoteBytes || remoteOff > remoteBytes - length) {
            return Rnic.WC_LOC_QP_OP_ERR;
        }
        Mkey k = mkeys.get(lkey);
        if (k == null || localVa < k.start || length > k.length || localVa - k.start > k.length - length) {
            return Rnic.WC_LOC_PROT_ERR;
        }
        if (opcode == Rnic.OP_RDMA_READ && (k.access & Rnic.ACCESS_WRITE) == 0) {
            return Rnic.WC_LOC_PROT_ERR;
        }
        return Rnic.WC_SUCCESS;
    }

    /** Moves the loaded request's bytes from {@link #progress} on, page by page, or stalls on a fault. */
    private void execute() {
        Mkey k = mkeys.get(lkey);
        if (k == null) { // destroyed while the request was stalled
            complete(Rnic.WC_LOC_PROT_ERR, progress);
            return;
        }
        MemorySegment peer = remoteMemory();
        boolean toHost = opcode == Rnic.OP_RDMA_READ;
        long need = toHost ? Rnic.MTT_READ | Rnic.MTT_WRITE : Rnic.MTT_READ;
        while (progress < length) {
            long va = localVa + progress;
            long inPage = va & (Rnic.PAGE - 1);
            long chunk = Math.min(length - progress, Rnic.PAGE - inPage);
            long e = entry(k, va);
            if ((e & need) != need) {
                fault(va - inPage, length - progress + inPage, toHost);
                return;
            }
            long dma = (e & Rnic.MTT_ADDR_MASK) + inPage;
            long moved = toHost ? port.write(dma, peer, remoteOff + progress, chunk) : port.read(dma, peer, remoteOff + progress, chunk);
            progress += moved;
            if (moved < chunk) {
                complete(Rnic.WC_LOC_ACCESS_ERR, progress);
                return;
            }
        }
        complete(Rnic.WC_SUCCESS, length);
    }

    /** The translation entry for {@code va} in key {@code k}, through the window table of an implicit key. */
    private long entry(Mkey k, long va) {
        if (k.ksm == null) {
            return k.mtt[(int) ((va - k.start) / Rnic.PAGE)];
        }
        Integer child = k.ksm.get(va / Rnic.IMPLICIT_WINDOW);
        Mkey c = child == null ? null : mkeys.get(child);
        return c == null ? 0 : c.mtt[(int) ((va - c.start) / Rnic.PAGE)];
    }

    private void fault(long pageVa, long bytes, boolean write) {
        long eqSize = reg(Rnic.REG_EQ_SIZE);
        if (eqTail - eqHead >= eqSize) { // nowhere to report it: the request fails rather than hang
            complete(Rnic.WC_LOC_ACCESS_ERR, progress);
            return;
        }
        int token = nextToken;
        nextToken = nextToken == Integer.MAX_VALUE ? 1 : nextToken + 1;
        entry.fill((byte) 0);
        entry.set(ValueLayout.JAVA_BYTE, Rnic.EQE_TYPE, (byte) Rnic.EQE_PAGE_FAULT);
        entry.set(ValueLayout.JAVA_BYTE, Rnic.EQE_FLAGS, (byte) (write ? Rnic.FAULT_WRITE : 0));
        entry.set(INT, Rnic.EQE_TOKEN, token);
        entry.set(INT, Rnic.EQE_MKEY, lkey);
        entry.set(INT, Rnic.EQE_BYTES, (int) Math.min(bytes, Integer.MAX_VALUE));
        entry.set(LONG, Rnic.EQE_VA, pageVa);
        entry.set(ValueLayout.JAVA_BYTE, Rnic.OWNER, (byte) Queues.ownerBit(eqTail, eqSize));
        long at = reg(Rnic.REG_EQ_BASE) + (eqTail % eqSize) * Rnic.EQE_SIZE;
        if (port.write(at, entry, 0, Rnic.EQE_SIZE) < Rnic.EQE_SIZE) {
            complete(Rnic.WC_LOC_ACCESS_ERR, progress);
            return;
        }
        eqTail++;
        pageFaults++;
        stalledToken = token;
    }

    private void complete(int status, long bytes) {
        long cqSize = reg(Rnic.REG_CQ_SIZE);
        entry.fill((byte) 0);
        entry.set(LONG, Rnic.CQE_WR_ID, wrId);
        entry.set(INT, Rnic.CQE_BYTES, (int) bytes);
        entry.set(ValueLayout.JAVA_BYTE, Rnic.CQE_STATUS, (byte) status);
        entry.set(ValueLayout.JAVA_BYTE, Rnic.CQE_OPCODE, (byte) opcode);
        entry.set(ValueLayout.JAVA_BYTE, Rnic.OWNER, (byte) Queues.ownerBit(cqTail, cqSize));
        port.write(reg(Rnic.REG_CQ_BASE) + (cqTail % cqSize) * Rnic.CQE_SIZE, entry, 0, Rnic.CQE_SIZE);
        cqTail++;
        completions++;
        if (status != Rnic.WC_SUCCESS) {
            errors++;
        }
        loaded = false;
        sqHead++;
    }

    /** The {@link DeviceModelFactory} for {@value Rnic#MODEL}. */
    public static final class Factory implements DeviceModelFactory {
        @Override
        public String model() {
            return Rnic.MODEL;
        }

        @Override
        public DeviceModel create(Device device, PhysicalAddressSpace cpu) {
            return new RnicModel(device);
        }
    }
}
