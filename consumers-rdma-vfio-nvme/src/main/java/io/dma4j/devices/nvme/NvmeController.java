package io.dma4j.devices.nvme;

import io.dma4j.platform.fault.FaultInjector;
import io.dma4j.hw.nvme.Nvme;

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
 * An NVMe controller model: registers and doorbells in BAR 0, submission and completion
 * queues in host memory reached only through the device's DMA port, an admin command set
 * just large enough for a driver (Identify, Create I/O CQ/SQ), Read and Write against a
 * memory-backed namespace, and the specification's data-pointer rules: PRP1 may carry an
 * offset, every other PRP entry must not (Invalid PRP Offset), PRP lists chain through their
 * last entry, SGLs are a data block in the command or a Last Segment of data blocks
 * (SGL Descriptor Type Invalid, Data SGL Length Invalid). A DMA fault ends a command with
 * Data Transfer Error. Commands run inside the doorbell write.
 *
 * <p>Identify reports SGL support (unless the model option {@code sgls} is false) and MDTS (model option {@code mdts}, default {@value #MDTS}: 4 MiB; 0 reports
 * no limit, and the command's 16-bit block count is then the only bound) and SGL support.
 *
 * <p>Thread safety: doorbell writes are serialised.
 */
public final class NvmeController implements DeviceModel, RegisterHandler {
    /** Model name in machine descriptions. */
    public static final String MODEL = "nvme";
    /** Maximum data transfer size as a power of two of controller pages. */
    public static final int MDTS = 10;
    /** The namespace's default size in bytes. */
    public static final long NAMESPACE_BYTES = 1L << 30;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final class Queue {
        long base;
        int size;
        int head;
        int tail;
        int cqid;
        boolean phase = true;
    }

    private final Device device;
    private final DmaPort port;
    private final Namespace namespace;
    private final MemorySegment sqe = Arena.ofAuto().allocate(64);
    private final int mdts;
    private final boolean sgls;
    private final long maxTransfer;
    private final MemorySegment buf;
    private final MemorySegment word = Arena.ofAuto().allocate(16);
    private final Map<Integer, Queue> sqs = new HashMap<>();
    private final Map<Integer, Queue> cqs = new HashMap<>();
    private long cc;
    private long aqa;
    private long asq;
    private long acq;
    private long commands;

    /**
     * A controller for {@code device}. Model options (machine description
     * {@code "modelOptions"}): {@code namespaceSize} (default 1GiB), {@code namespaceFile}
     * (a file to keep the namespace in; default: memory) and {@code mdts} (0..10, the maximum
     * data transfer size as a power of two of 4 KiB pages; 0 for no limit; default {@value #MDTS})
     * and {@code sgls} ({@code true} by default; {@code false} reports no SGL support and
     * refuses SGL commands as an invalid field).
     *
     * @throws IllegalArgumentException naming the option when one is not valid
     */
    public NvmeController(Device device) {
        this.device = device;
        this.port = device.port();
        String sizeText = device.modelOptions().getOrDefault("namespaceSize", "1GiB");
        long size = io.dma4j.platform.ByteSize.parseOption("namespaceSize", sizeText);
        if (size <= 0 || size % Nvme.LBA != 0) {
            throw new IllegalArgumentException("namespaceSize: " + sizeText + " (expected: a positive multiple of " + Nvme.LBA + " bytes)");
        }
        String mdtsText = device.modelOptions().getOrDefault("mdts", Integer.toString(MDTS));
        try {
            this.mdts = Integer.parseInt(mdtsText);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("mdts: " + mdtsText + " (expected: an integer 0..10; 0 for no limit)");
        }
        if (mdts < 0 || mdts > 10) {
            throw new IllegalArgumentException("mdts: " + mdtsText + " (expected: an integer 0..10; 0 for no limit)");
        }
        this.maxTransfer = mdts == 0 ? 65536L * Nvme.LBA : (long) Nvme.PAGE << mdts; // MDTS 0: the 16-bit NLB field is the bound
        this.buf = Arena.ofAuto().allocate(maxTransfer);
        String sglText = device.modelOptions().getOrDefault("sgls", "true");
        if (!sglText.equals("true") && !sglText.equals("false")) {
            throw new IllegalArgumentException("sgls: " + sglText + " (expected: true or false)");
        }
        this.sgls = sglText.equals("true");
        String file = device.modelOptions().get("namespaceFile");
        this.namespace = file == null ? Namespace.inMemory(size) : Namespace.inFile(java.nio.file.Path.of(file), size);
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public synchronized void reset() {
        sqs.clear();
        cqs.clear();
        cc = 0;
    }

    @Override
    public synchronized void close() {
        namespace.close();
    }

    /** Commands completed so far. */
    public synchronized long commands() {
        return commands;
    }

    /** The namespace (for tests: what the device stored). */
    public Namespace namespace() {
        return namespace;
    }

    @Override
    public synchronized long readRegister(long offset, int width) {
        long v = switch ((int) offset) {
            case (int) Nvme.REG_CAP -> 1023L; // MQES 1024 entries, DSTRD 0, MPSMIN 0
            case (int) Nvme.REG_CC -> cc;
            case (int) Nvme.REG_CSTS -> cc & 1; // ready as soon as enabled
            case (int) Nvme.REG_AQA -> aqa;
            case (int) Nvme.REG_ASQ -> asq;
            case (int) Nvme.REG_ACQ -> acq;
            default -> 0;
        };
        return width == 8 ? v : v & ((1L << (8 * width)) - 1);
    }

    @Override
    public synchronized void writeRegister(long offset, int width, long value) {
        if (offset == Nvme.REG_CC) {
            if ((value & 1) != 0 && (cc & 1) == 0) {
                enable();
            }
            cc = value;
        } else if (offset == Nvme.REG_AQA) {
            aqa = value;
        } else if (offset == Nvme.REG_ASQ) {
            asq = value;
        } else if (offset == Nvme.REG_ACQ) {
            acq = value;
        } else if (offset >= Nvme.REG_DOORBELLS) {
            int idx = (int) ((offset - Nvme.REG_DOORBELLS) / 4);
            int qid = idx / 2;
            if (idx % 2 == 0) {
                Queue sq = sqs.get(qid);
                if (sq != null) {
                    sq.tail = (int) value;
                    process(qid, sq);
                }
            } else {
                Queue cq = cqs.get(qid);
                if (cq != null) {
                    cq.head = (int) value;
                }
            }
        }
    }

    private void enable() {
        Queue sq = new Queue();
        sq.base = asq;
        sq.size = (int) (aqa & 0xFFF) + 1;
        sq.cqid = 0;
        Queue cq = new Queue();
        cq.base = acq;
        cq.size = (int) ((aqa >>> 16) & 0xFFF) + 1;
        sqs.put(0, sq);
        cqs.put(0, cq);
    }

    private void process(int qid, Queue sq) {
        while (sq.head != sq.tail) {
            long at = sq.base + (long) sq.head * Nvme.SQE_SIZE;
            sq.head = (sq.head + 1) % sq.size;
            int status;
            int cid = 0;
            if (port.read(at, sqe, 0, Nvme.SQE_SIZE) < Nvme.SQE_SIZE) {
                status = Nvme.SC_DATA_TRANSFER_ERROR;
            } else {
                int cdw0 = sqe.get(INT, 0);
                cid = cdw0 >>> 16;
                FaultInjector fi = port.faultInjector();
                status = fi.armed() && fi.shouldFail(FaultInjector.Point.DEVICE_COMMAND, device.name()) ? Nvme.SC_INTERNAL_ERROR
                        : qid == 0 ? admin(cdw0 & 0xFF) : io(cdw0 & 0xFF, (cdw0 >>> 14) & 3);
            }
            complete(sq, qid, cid, status);
            commands++;
        }
    }

    private void complete(Queue sq, int sqid, int cid, int status) {
        Queue cq = cqs.get(sq.cqid);
        word.fill((byte) 0);
        word.set(INT, 8, (sqid << 16) | sq.head);
        word.set(INT, 12, (cid & 0xFFFF) | ((cq.phase ? 1 : 0) << 16) | (status << 17));
        port.write(cq.base + (long) cq.tail * Nvme.CQE_SIZE, word, 0, Nvme.CQE_SIZE);
        cq.tail = (cq.tail + 1) % cq.size;
        if (cq.tail == 0) {
            cq.phase = !cq.phase;
        }
    }

    private int admin(int opcode) {
        long prp1 = sqe.get(LONG, 24);
        int cdw10 = sqe.get(INT, 40);
        int cdw11 = sqe.get(INT, 44);
        switch (opcode) {
            case Nvme.ADMIN_IDENTIFY -> {
                MemorySegment page = buf.asSlice(0, Nvme.PAGE);
                page.fill((byte) 0);
                if ((cdw10 & 0xFF) == 1) { // controller
                    page.set(ValueLayout.JAVA_BYTE, 77, (byte) mdts);
                    page.set(INT, 536, sgls ? 1 : 0); // SGLS: SGLs supported, byte aligned (or none)
                } else { // namespace
                    page.set(LONG, 0, namespace.size() / Nvme.LBA);
                    page.set(ValueLayout.JAVA_BYTE, 130, (byte) 9); // LBAF0: LBADS = 9 (512 bytes)
                }
                return port.write(prp1, page, 0, Nvme.PAGE) == Nvme.PAGE ? Nvme.SC_SUCCESS : Nvme.SC_DATA_TRANSFER_ERROR;
            }
            case Nvme.ADMIN_CREATE_CQ -> {
                Queue cq = new Queue();
                cq.base = prp1;
                cq.size = (cdw10 >>> 16) + 1;
                cqs.put(cdw10 & 0xFFFF, cq);
                return Nvme.SC_SUCCESS;
            }
            case Nvme.ADMIN_CREATE_SQ -> {
                int cqid = cdw11 >>> 16;
                if (!cqs.containsKey(cqid)) {
                    return Nvme.SC_INVALID_FIELD;
                }
                Queue sq = new Queue();
                sq.base = prp1;
                sq.size = (cdw10 >>> 16) + 1;
                sq.cqid = cqid;
                sqs.put(cdw10 & 0xFFFF, sq);
                return Nvme.SC_SUCCESS;
            }
            default -> {
                return Nvme.SC_INVALID_OPCODE;
            }
        }
    }

    private int io(int opcode, int psdt) {
        if (opcode != Nvme.IO_READ && opcode != Nvme.IO_WRITE) {
            return Nvme.SC_INVALID_OPCODE;
        }
        long slba = sqe.get(LONG, 40);
        long len = ((sqe.get(INT, 48) & 0xFFFFL) + 1) * Nvme.LBA;
        if (len > maxTransfer) {
            return Nvme.SC_INVALID_FIELD;
        }
        if (slba < 0 || len > namespace.size() || slba > (namespace.size() - len) / Nvme.LBA) { // no overflow for any 64-bit SLBA
            return Nvme.SC_LBA_OUT_OF_RANGE;
        }
        long off = slba * Nvme.LBA;
        boolean write = opcode == Nvme.IO_WRITE;
        if (!write) {
            namespace.read(off, buf, 0, len);
        }
        Transfer t = new Transfer(write, len);
        int status = psdt == Nvme.PSDT_PRP ? walkPrps(t) : psdt == Nvme.PSDT_SGL && sgls ? walkSgl(t) : Nvme.SC_INVALID_FIELD;
        if (status == Nvme.SC_SUCCESS && write) {
            namespace.write(off, buf, 0, len);
        }
        return status;
    }

    /** Moves one command's data between the model's buffer and host ranges as they are found. */
    private final class Transfer {
        final boolean toDevice;
        final long len;
        long done;

        Transfer(boolean toDevice, long len) {
            this.toDevice = toDevice;
            this.len = len;
        }

        long left() {
            return len - done;
        }

        /** Transfers {@code n} bytes at host bus address {@code bus}; false after a DMA fault. */
        boolean move(long bus, long n) {
            long got = toDevice ? port.read(bus, buf, done, n) : port.write(bus, buf, done, n);
            done += got;
            return got == n;
        }
    }

    /** The PRP rules: PRP1 may be offset; PRP2 is data (≤ one page left) or a list; list entries and chained pages have no offset. */
    private int walkPrps(Transfer t) {
        long prp1 = sqe.get(LONG, 24);
        long prp2 = sqe.get(LONG, 32);
        long first = Math.min(t.left(), Nvme.PAGE - (prp1 & (Nvme.PAGE - 1)));
        if (!t.move(prp1, first)) {
            return Nvme.SC_DATA_TRANSFER_ERROR;
        }
        if (t.left() == 0) {
            return Nvme.SC_SUCCESS;
        }
        if (t.left() <= Nvme.PAGE) {
            if ((prp2 & (Nvme.PAGE - 1)) != 0) {
                return Nvme.SC_INVALID_PRP_OFFSET;
            }
            return t.move(prp2, t.left()) ? Nvme.SC_SUCCESS : Nvme.SC_DATA_TRANSFER_ERROR;
        }
        if ((prp2 & 7) != 0) {
            return Nvme.SC_INVALID_PRP_OFFSET; // a list pointer is qword aligned
        }
        long list = prp2;
        while (t.left() > 0) {
            long slotsLeft = (Nvme.PAGE - (list & (Nvme.PAGE - 1))) / 8;
            long needed = (t.left() + Nvme.PAGE - 1) / Nvme.PAGE;
            if (port.read(list, word, 0, 8) < 8) {
                return Nvme.SC_DATA_TRANSFER_ERROR;
            }
            long entry = word.get(LONG, 0);
            if (slotsLeft == 1 && needed > 1) { // the last slot of a list page links to the next page
                if ((entry & (Nvme.PAGE - 1)) != 0) {
                    return Nvme.SC_INVALID_PRP_OFFSET;
                }
                list = entry;
                continue;
            }
            if ((entry & (Nvme.PAGE - 1)) != 0) {
                return Nvme.SC_INVALID_PRP_OFFSET;
            }
            if (!t.move(entry, Math.min(t.left(), Nvme.PAGE))) {
                return Nvme.SC_DATA_TRANSFER_ERROR;
            }
            list += 8;
        }
        return Nvme.SC_SUCCESS;
    }

    /** SGLs: a data block in the command, or a Last Segment pointing at data blocks whose lengths add up to the transfer. */
    private int walkSgl(Transfer t) {
        long addr = sqe.get(LONG, 24);
        long len = sqe.get(INT, 32) & 0xFFFF_FFFFL;
        int type = (sqe.get(ValueLayout.JAVA_BYTE, 39) >>> 4) & 0xF;
        if (type == Nvme.SGL_DATA_BLOCK) {
            if (len != t.len) {
                return Nvme.SC_DATA_SGL_LENGTH_INVALID;
            }
            return t.move(addr, len) ? Nvme.SC_SUCCESS : Nvme.SC_DATA_TRANSFER_ERROR;
        }
        if (type != Nvme.SGL_LAST_SEGMENT || len % 16 != 0 || len == 0) {
            return Nvme.SC_SGL_DESCRIPTOR_TYPE_INVALID;
        }
        long total = 0;
        for (long d = 0; d < len; d += 16) {
            if (port.read(addr + d, word, 0, 16) < 16) {
                return Nvme.SC_DATA_TRANSFER_ERROR;
            }
            int dtype = (word.get(ValueLayout.JAVA_BYTE, 15) >>> 4) & 0xF;
            if (dtype != Nvme.SGL_DATA_BLOCK) {
                return Nvme.SC_SGL_DESCRIPTOR_TYPE_INVALID;
            }
            long blen = word.get(INT, 8) & 0xFFFF_FFFFL;
            total += blen;
            if (total > t.len) {
                return Nvme.SC_DATA_SGL_LENGTH_INVALID;
            }
            if (!t.move(word.get(LONG, 0), blen)) {
                return Nvme.SC_DATA_TRANSFER_ERROR;
            }
        }
        return total == t.len ? Nvme.SC_SUCCESS : Nvme.SC_DATA_SGL_LENGTH_INVALID;
    }

    /** The {@link DeviceModelFactory} for {@value #MODEL}. */
    public static final class Factory implements DeviceModelFactory {
        @Override
        public String model() {
            return MODEL;
        }

        @Override
        public DeviceModel create(Device device, PhysicalAddressSpace cpu) {
            return new NvmeController(device);
        }
    }
}
