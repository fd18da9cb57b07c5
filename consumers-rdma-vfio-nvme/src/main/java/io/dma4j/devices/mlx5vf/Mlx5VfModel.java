package io.dma4j.devices.mlx5vf;

import io.dma4j.platform.fault.FaultInjector;
import io.dma4j.hw.Queues;
import io.dma4j.hw.mlx5vf.Mlx5Vf;
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
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.CRC32;

/**
 * An mlx5-like virtual function that can be live-migrated (the built-in machine's
 * {@code mlx5vf0} and {@code mlx5vf1}): a command mailbox and an event queue in DMA memory,
 * memory keys over per-page MTTs, SAVE/LOAD of its device state through those keys, SUSPEND
 * and RESUME of the initiator and responder sides, and a dirty-page tracker over guest IOVA
 * ranges. Layouts and commands: {@link Mlx5Vf}.
 *
 * <p><b>Device state</b>: a deterministic byte image of {@code stateSize} bytes seeded from
 * {@code seed}. While the VF runs, {@link #run(int)} plays its workload: each step changes 64
 * bytes of one state page (unless the responder side is suspended) and DMA-writes 64 bytes
 * into one page of the workload window of guest memory (unless the initiator side is
 * suspended), which the page tracker records. Saves are full or incremental (the state pages
 * changed since the last save, when tracking); in chunk mode a save writes what fits and
 * reports the next chunk's size.
 *
 * <p><b>Errors are device errors, never corruption</b>: a SAVE into a key smaller than the
 * image, a key that is destroyed, or an MTT entry the IOMMU does not translate completes with
 * an error status, and the state pages it would have saved stay pending; a LOAD checks the
 * whole image (magic, state size, record count, CRC-32, page indices) before it changes a byte.
 *
 * <p>Model options: {@code stateSize} (default 1MiB, a multiple of 4KiB), {@code seed}
 * (default: derived from the device name), {@code maxSaveSize} (default 64MiB),
 * {@code trackerMaxRanges} (default 4), {@code trackerMinPageSize} (4KiB) and
 * {@code trackerMaxPageSize} (2MiB), {@code trackerMaxSpace} (default 2^48 bytes: the widest
 * address span one tracker covers).
 *
 * <p>Differences from mlx5 kept on purpose: the VF executes its own migration commands
 * through its own DMA port (mlx5 runs them on the PF, whose DMA the PF's domain translates);
 * the tracker reports through messages in one registered buffer and events on the event queue
 * rather than a firmware RC QP with its CQ; commands run inside the doorbell write, and the
 * asynchronous ones complete by event.
 *
 * <p>Thread safety: register accesses and {@link #run(int)} are serialised.
 */
public final class Mlx5VfModel implements DeviceModel, RegisterHandler {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG_BE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int STEP_BYTES = 64;

    private record Mkey(long[] mtt, long length, int access) {
    }

    private static final class Tracker {
        final long[] start;
        final long[] length;
        final int pageShift;
        final int rxKey;
        final BitSet[] dirty;
        int nextMessage;

        Tracker(long[] start, long[] length, int pageShift, int rxKey) {
            this.start = start;
            this.length = length;
            this.pageShift = pageShift;
            this.rxKey = rxKey;
            this.dirty = new BitSet[start.length];
            for (int i = 0; i < start.length; i++) {
                dirty[i] = new BitSet();
            }
        }
    }

    private final Device device;
    private final DmaPort port;
    private final int pages;
    private final long maxSaveSize;
    private final int trackerMaxRanges;
    private final long trackerMinPage;
    private final long trackerMaxPage;
    private final long trackerMaxSpace;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment state;
    private final MemorySegment cmd = Arena.ofAuto().allocate(Mlx5Vf.CMD_SIZE);
    private final MemorySegment event = Arena.ofAuto().allocate(Mlx5Vf.EQE_SIZE);
    private final MemorySegment step = Arena.ofAuto().allocate(STEP_BYTES);
    private final long[] regs = new long[(int) (Mlx5Vf.REG_WL_LEN / 8) + 1];
    private final Map<Integer, Mkey> mkeys = new HashMap<>();
    private final Map<Integer, Tracker> trackers = new HashMap<>();
    private final SplittableRandom workload;
    private MemorySegment scratch = MemorySegment.NULL;
    private Arena scratchArena;
    private int nextKey = 0x100;
    private int nextTracker = 1;
    private boolean tracking;
    private final BitSet changed = new BitSet();
    private BitSet pending; // the save in progress (chunk mode), or null
    private boolean pendingFull;
    private boolean initiatorSuspended;
    private boolean responderSuspended;
    private boolean eqEnabled;
    private long eqTail;
    private long eqHead;
    private long commands;
    private long saves;
    private long loads;
    private long deviceErrors;
    private long guestWrites;

    /**
     * A model for {@code device} with the model options above.
     *
     * @throws IllegalArgumentException naming the option whose value is not valid
     */
    public Mlx5VfModel(Device device) {
        this.device = device;
        this.port = device.port();
        Map<String, String> o = device.modelOptions();
        long stateSize = size(o, "stateSize", "1MiB");
        if (stateSize % Mlx5Vf.PAGE != 0 || stateSize / Mlx5Vf.PAGE > 1 << 20) {
            throw new IllegalArgumentException("stateSize: " + o.get("stateSize") + " (expected: a multiple of 4KiB, at most 4GiB)");
        }
        this.pages = (int) (stateSize / Mlx5Vf.PAGE);
        this.maxSaveSize = size(o, "maxSaveSize", "64MiB");
        this.trackerMinPage = size(o, "trackerMinPageSize", "4KiB");
        this.trackerMaxPage = size(o, "trackerMaxPageSize", "2MiB");
        this.trackerMaxSpace = size(o, "trackerMaxSpace", String.valueOf(1L << 48));
        if (Long.bitCount(trackerMinPage) != 1 || Long.bitCount(trackerMaxPage) != 1 || trackerMinPage > trackerMaxPage || trackerMinPage < Mlx5Vf.PAGE) {
            throw new IllegalArgumentException("trackerMinPageSize/trackerMaxPageSize: " + trackerMinPage + "/" + trackerMaxPage
                    + " (expected: powers of two, 4KiB <= min <= max)");
        }
        String ranges = o.getOrDefault("trackerMaxRanges", "4");
        try {
            this.trackerMaxRanges = Integer.parseInt(ranges);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("trackerMaxRanges: " + ranges + " (expected: an integer 1..1024)", e);
        }
        if (trackerMaxRanges < 1 || trackerMaxRanges > 1024) {
            throw new IllegalArgumentException("trackerMaxRanges: " + ranges + " (expected: an integer 1..1024)");
        }
        long seed;
        String s = o.get("seed");
        try {
            seed = s == null ? device.name().hashCode() : Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("seed: " + s + " (expected: an integer)", e);
        }
        this.state = arena.allocate(stateSize, Mlx5Vf.PAGE);
        SplittableRandom init = new SplittableRandom(seed);
        for (long i = 0; i < stateSize; i += 8) {
            state.set(LONG, i, init.nextLong());
        }
        this.workload = new SplittableRandom(seed ^ 0x5DEECE66DL);
    }

    private static long size(Map<String, String> o, String key, String dflt) {
        String text = o.getOrDefault(key, dflt);
        long v = ByteSize.parseOption(key, text);
        if (v <= 0) {
            throw new IllegalArgumentException(key + ": " + text + " (expected: > 0)");
        }
        return v;
    }

    @Override
    public Device device() {
        return device;
    }

    /** Bytes of device state. */
    public long stateSize() {
        return (long) pages * Mlx5Vf.PAGE;
    }

    /** A copy of the device state. */
    public synchronized byte[] stateSnapshot() {
        return state.toArray(ValueLayout.JAVA_BYTE);
    }

    /** The most bytes one SAVE writes or one LOAD reads ({@code maxSaveSize}). */
    public long maxSaveSize() {
        return maxSaveSize;
    }

    /** Whether the initiator side is suspended. */
    public synchronized boolean initiatorSuspended() {
        return initiatorSuspended;
    }

    /** Whether the responder side is suspended. */
    public synchronized boolean responderSuspended() {
        return responderSuspended;
    }

    /** Commands run. */
    public synchronized long commands() {
        return commands;
    }

    /** SAVEs completed successfully. */
    public synchronized long saves() {
        return saves;
    }

    /** LOADs completed successfully. */
    public synchronized long loads() {
        return loads;
    }

    /** Commands that ended in a device error (bad key, DMA error, short buffer, bad image). */
    public synchronized long deviceErrors() {
        return deviceErrors;
    }

    /** Guest-memory writes the workload made. */
    public synchronized long guestWrites() {
        return guestWrites;
    }

    /**
     * Plays {@code steps} steps of the VF's workload (see the class comment); the random
     * choices are drawn whether or not a side is suspended, so the same seed gives the same
     * sequence. Returns the guest-memory writes made.
     */
    public synchronized int run(int steps) {
        int writes = 0;
        long wlBase = reg(Mlx5Vf.REG_WL_BASE);
        long wlPages = reg(Mlx5Vf.REG_WL_LEN) / Mlx5Vf.PAGE;
        for (int n = 0; n < steps; n++) {
            int page = workload.nextInt(pages);
            long off = (long) workload.nextInt(Mlx5Vf.PAGE / STEP_BYTES) * STEP_BYTES;
            for (int i = 0; i < STEP_BYTES; i += 8) {
                step.set(LONG, i, workload.nextLong());
            }
            long guestPage = wlPages > 0 ? workload.nextLong(wlPages) : 0;
            if (!responderSuspended) {
                MemorySegment.copy(step, 0, state, (long) page * Mlx5Vf.PAGE + off, STEP_BYTES);
                if (tracking) {
                    changed.set(page);
                }
            }
            if (!initiatorSuspended && wlPages > 0) {
                long dma = wlBase + guestPage * Mlx5Vf.PAGE + off;
                if (port.write(dma, step, 0, STEP_BYTES) == STEP_BYTES) {
                    writes++;
                    guestWrites++;
                    markDirty(dma);
                }
            }
        }
        return writes;
    }

    private void markDirty(long addr) {
        for (Tracker t : trackers.values()) {
            for (int r = 0; r < t.start.length; r++) {
                if (addr >= t.start[r] && addr - t.start[r] < t.length[r]) {
                    t.dirty[r].set((int) ((addr - t.start[r]) >>> t.pageShift));
                }
            }
        }
    }

    @Override
    public synchronized void reset() {
        mkeys.clear();
        trackers.clear();
        Arrays.fill(regs, 0);
        eqEnabled = false;
        eqTail = eqHead = 0;
        initiatorSuspended = responderSuspended = false;
        tracking = false;
        changed.clear();
        pending = null;
    }

    @Override
    public synchronized void close() {
        if (scratchArena != null) {
            scratchArena.close();
            scratchArena = null;
        }
        arena.close();
    }

    @Override
    public synchronized long readRegister(long offset, int width) {
        int i = (int) (offset / 8);
        long v = offset % 8 != 0 ? 0 : i < regs.length ? regs[i] : capability(offset);
        return width == 8 ? v : v & ((1L << (8 * width)) - 1);
    }

    @Override
    public synchronized void writeRegister(long offset, int width, long value) {
        if (offset % 8 != 0 || offset / 8 >= regs.length) {
            return;
        }
        regs[(int) (offset / 8)] = value;
        if (offset == Mlx5Vf.REG_CMD_DOORBELL) {
            command();
        } else if (offset == Mlx5Vf.REG_EQ_ENABLE) {
            long n = reg(Mlx5Vf.REG_EQ_SIZE);
            eqEnabled = value == 1 && n > 0 && n <= 1 << 16 && Long.bitCount(n) == 1;
            eqTail = eqHead = 0;
        } else if (offset == Mlx5Vf.REG_EQ_DOORBELL) {
            eqHead = value;
        }
    }

    private long capability(long offset) {
        if (offset == Mlx5Vf.REG_CAP_TRACKER_RANGES) {
            return trackerMaxRanges;
        } else if (offset == Mlx5Vf.REG_CAP_TRACKER_PAGES) {
            return Long.numberOfTrailingZeros(trackerMinPage) | (long) Long.numberOfTrailingZeros(trackerMaxPage) << 8;
        } else if (offset == Mlx5Vf.REG_CAP_TRACKER_SPACE) {
            return trackerMaxSpace;
        } else if (offset == Mlx5Vf.REG_CAP_MAX_SAVE) {
            return maxSaveSize;
        }
        return 0;
    }

    private long reg(long offset) {
        return regs[(int) (offset / 8)];
    }

    // ------------------------------------------------------------------ commands

    private void command() {
        long mailbox = reg(Mlx5Vf.REG_CMD_MAILBOX);
        if (port.read(mailbox, cmd, 0, Mlx5Vf.CMD_SIZE) < Mlx5Vf.CMD_SIZE) {
            return; // no mailbox to answer in
        }
        commands++;
        cmd.set(LONG, Mlx5Vf.CMD_OUT0, 0L);
        cmd.set(LONG, Mlx5Vf.CMD_OUT1, 0L);
        FaultInjector fi = port.faultInjector();
        int status = fi.armed() && fi.shouldFail(FaultInjector.Point.DEVICE_COMMAND, device.name()) ? Mlx5Vf.ST_INTERNAL_ERROR
                : run(cmd.get(INT, Mlx5Vf.CMD_OPCODE), cmd.get(INT, Mlx5Vf.CMD_MKEY), cmd.get(LONG, Mlx5Vf.CMD_ARG0), cmd.get(LONG, Mlx5Vf.CMD_ARG1),
                        cmd.get(LONG, Mlx5Vf.CMD_ARG2), cmd.get(INT, Mlx5Vf.CMD_FLAGS), cmd.get(INT, Mlx5Vf.CMD_TOKEN));
        if (status != Mlx5Vf.ST_OK) {
            deviceErrors++;
        }
        cmd.set(INT, Mlx5Vf.CMD_STATUS, status);
        port.write(mailbox + Mlx5Vf.CMD_OUT0, cmd, Mlx5Vf.CMD_OUT0, Mlx5Vf.CMD_SIZE - Mlx5Vf.CMD_OUT0);
    }

    private int run(int op, int mkey, long a0, long a1, long a2, int flags, int token) {
        return switch (op) {
            case Mlx5Vf.CMD_QUERY_VHCA_MIGRATION_STATE -> query(a0, flags);
            case Mlx5Vf.CMD_SAVE_VHCA_STATE -> asyncSlot() ? save(mkey, a0, flags, token) : Mlx5Vf.ST_BAD_RES_STATE;
            case Mlx5Vf.CMD_LOAD_VHCA_STATE -> asyncSlot() ? load(mkey, a0, token) : Mlx5Vf.ST_BAD_RES_STATE;
            case Mlx5Vf.CMD_SUSPEND_VHCA, Mlx5Vf.CMD_RESUME_VHCA -> {
                boolean suspend = op == Mlx5Vf.CMD_SUSPEND_VHCA;
                if ((flags & ~(Mlx5Vf.FLAG_INITIATOR | Mlx5Vf.FLAG_RESPONDER)) != 0 || flags == 0) {
                    yield Mlx5Vf.ST_BAD_PARAM;
                }
                if ((flags & Mlx5Vf.FLAG_INITIATOR) != 0) {
                    initiatorSuspended = suspend;
                }
                if ((flags & Mlx5Vf.FLAG_RESPONDER) != 0) {
                    responderSuspended = suspend;
                }
                yield Mlx5Vf.ST_OK;
            }
            case Mlx5Vf.CMD_CREATE_MKEY -> createMkey(a0, a1);
            case Mlx5Vf.CMD_DESTROY_MKEY -> mkeys.remove(mkey) == null ? Mlx5Vf.ST_BAD_RESOURCE : Mlx5Vf.ST_OK;
            case Mlx5Vf.CMD_CREATE_PAGE_TRACK -> createTracker(mkey, a0, a1, a2);
            case Mlx5Vf.CMD_REPORT_PAGE_TRACK -> report((int) a2, a0, a1, token);
            case Mlx5Vf.CMD_DESTROY_PAGE_TRACK -> trackers.remove((int) a2) == null ? Mlx5Vf.ST_BAD_RESOURCE : Mlx5Vf.ST_OK;
            default -> Mlx5Vf.ST_BAD_OPCODE;
        };
    }

    private boolean asyncSlot() {
        return eqEnabled && eqTail - eqHead < reg(Mlx5Vf.REG_EQ_SIZE);
    }

    private int query(long chunk, int flags) {
        boolean incremental = (flags & Mlx5Vf.FLAG_INCREMENTAL) != 0;
        if (incremental && !tracking) {
            return Mlx5Vf.ST_BAD_PARAM;
        }
        long records = pending != null ? pending.cardinality() : incremental ? changed.cardinality() : pages;
        long total = records == 0 && incremental ? 0 : Mlx5Vf.imageBytes(records);
        long next = total;
        if ((flags & Mlx5Vf.FLAG_CHUNK) != 0 && chunk > 0) {
            next = Math.min(total, Math.max(chunk, Mlx5Vf.imageBytes(1)));
        }
        cmd.set(LONG, Mlx5Vf.CMD_OUT0, Math.min(next, maxSaveSize));
        cmd.set(LONG, Mlx5Vf.CMD_OUT1, total);
        return Mlx5Vf.ST_OK;
    }

    private int createMkey(long in, long npages) {
        if (npages <= 0 || npages > Mlx5Vf.MAX_MKEY_PAGES) {
            return Mlx5Vf.ST_BAD_PARAM;
        }
        int n = (int) npages;
        long bytes = Mlx5Vf.MKEY_IN_HEADER + 8L * (n + (n & 1));
        MemorySegment buf = scratch(bytes);
        if (port.read(in, buf, 0, bytes) < bytes) {
            return Mlx5Vf.ST_DMA_ERROR;
        }
        long octwords = buf.get(INT, Mlx5Vf.MKEY_IN_OCTWORDS) & 0xFFFF_FFFFL;
        int logPage = buf.get(ValueLayout.JAVA_BYTE, Mlx5Vf.MKEY_IN_LOG_PAGE);
        long len = buf.get(LONG, Mlx5Vf.MKEY_IN_LEN);
        if (octwords != (npages + 1) / 2 || logPage != 12 || len != npages * Mlx5Vf.PAGE) {
            return Mlx5Vf.ST_BAD_PARAM;
        }
        long[] mtt = new long[n];
        for (int i = 0; i < n; i++) {
            mtt[i] = buf.get(LONG_BE, Mlx5Vf.MKEY_IN_HEADER + 8L * i);
        }
        int key = nextKey++;
        mkeys.put(key, new Mkey(mtt, len, buf.get(ValueLayout.JAVA_BYTE, Mlx5Vf.MKEY_IN_ACCESS)));
        cmd.set(LONG, Mlx5Vf.CMD_OUT0, key);
        return Mlx5Vf.ST_OK;
    }

    private MemorySegment scratch(long bytes) {
        if (scratch.byteSize() < bytes) {
            if (scratchArena != null) {
                scratchArena.close();
            }
            scratchArena = Arena.ofShared();
            scratch = scratchArena.allocate(Math.max(bytes, 2 * scratch.byteSize()), Mlx5Vf.PAGE);
        }
        return scratch;
    }

    private int save(int mkey, long size, int flags, int token) {
        Mkey k = mkeys.get(mkey);
        if (k == null) {
            return Mlx5Vf.ST_BAD_RESOURCE;
        }
        boolean incremental = (flags & Mlx5Vf.FLAG_INCREMENTAL) != 0;
        boolean chunk = (flags & Mlx5Vf.FLAG_CHUNK) != 0;
        if (size <= 0 || size > k.length || size > maxSaveSize || (incremental && !tracking && pending == null)) {
            return Mlx5Vf.ST_BAD_PARAM;
        }
        BitSet set;
        boolean full;
        if (pending != null) {
            set = pending;
            full = pendingFull;
        } else if (incremental) {
            set = (BitSet) changed.clone();
            full = false;
        } else {
            set = new BitSet(pages);
            set.set(0, pages);
            full = true;
        }
        long fit = (size - Mlx5Vf.IMAGE_HEADER) / Mlx5Vf.IMG_RECORD;
        int records = set.cardinality();
        if (fit < Math.min(records, 1) || (!chunk && fit < records)) {
            return event(Mlx5Vf.EV_SAVE_DONE, Mlx5Vf.ST_BAD_SIZE, token, 0, Mlx5Vf.imageBytes(records), 0);
        }
        int take = (int) Math.min(records, fit);
        long bytes = Mlx5Vf.imageBytes(take);
        MemorySegment img = scratch(bytes);
        CRC32 crc = new CRC32();
        BitSet taken = new BitSet(pages);
        int page = set.nextSetBit(0);
        for (int r = 0; r < take; r++, page = set.nextSetBit(page + 1)) {
            long at = Mlx5Vf.IMAGE_HEADER + (long) r * Mlx5Vf.IMG_RECORD;
            img.set(INT, at, page);
            MemorySegment.copy(state, (long) page * Mlx5Vf.PAGE, img, at + 4, Mlx5Vf.PAGE);
            taken.set(page);
        }
        crc.update(img.asSlice(Mlx5Vf.IMAGE_HEADER, bytes - Mlx5Vf.IMAGE_HEADER).asByteBuffer());
        img.set(INT, Mlx5Vf.IMG_MAGIC_OFF, Mlx5Vf.IMG_MAGIC);
        img.set(INT, Mlx5Vf.IMG_FLAGS, full && take == records && pending == null ? Mlx5Vf.IMG_FULL : 0);
        img.set(LONG, Mlx5Vf.IMG_STATE_SIZE, stateSize());
        img.set(INT, Mlx5Vf.IMG_RECORDS, take);
        img.set(INT, Mlx5Vf.IMG_CRC, (int) crc.getValue());
        if (!transfer(k, img, bytes, true)) {
            return event(Mlx5Vf.EV_SAVE_DONE, Mlx5Vf.ST_DMA_ERROR, token, 0, 0, 0); // the pages stay pending / changed
        }
        if (pending == null && incremental) {
            changed.andNot(set); // saved now, or pending for the next chunk
        }
        if ((flags & Mlx5Vf.FLAG_TRACK) != 0) {
            if (!tracking) {
                changed.clear();
            }
            tracking = true;
        } else if (pending == null && !incremental) {
            tracking = false; // a save without tracking ends it
            changed.clear();
        }
        BitSet rest = (BitSet) set.clone();
        rest.andNot(taken);
        if (chunk && !rest.isEmpty()) {
            pending = rest;
            pendingFull = full;
        } else {
            pending = null;
        }
        saves++;
        long next = pending == null ? 0 : Math.min(Mlx5Vf.imageBytes(pending.cardinality()), size);
        return event(Mlx5Vf.EV_SAVE_DONE, Mlx5Vf.ST_OK, token, bytes, next, 0);
    }

    private int load(int mkey, long size, int token) {
        Mkey k = mkeys.get(mkey);
        if (k == null) {
            return Mlx5Vf.ST_BAD_RESOURCE;
        }
        if (!responderSuspended) {
            return event(Mlx5Vf.EV_LOAD_DONE, Mlx5Vf.ST_BAD_RES_STATE, token, 0, 0, 0);
        }
        if (size < Mlx5Vf.IMAGE_HEADER || size > k.length || size > maxSaveSize) {
            return event(Mlx5Vf.EV_LOAD_DONE, Mlx5Vf.ST_BAD_IMAGE, token, 0, 0, 0);
        }
        MemorySegment img = scratch(size);
        if (!transfer(k, img, size, false)) {
            return event(Mlx5Vf.EV_LOAD_DONE, Mlx5Vf.ST_DMA_ERROR, token, 0, 0, 0);
        }
        long records = img.get(INT, Mlx5Vf.IMG_RECORDS) & 0xFFFF_FFFFL;
        boolean ok = img.get(INT, Mlx5Vf.IMG_MAGIC_OFF) == Mlx5Vf.IMG_MAGIC && img.get(LONG, Mlx5Vf.IMG_STATE_SIZE) == stateSize()
                && records <= pages && Mlx5Vf.imageBytes(records) == size;
        if (ok) {
            CRC32 crc = new CRC32();
            crc.update(img.asSlice(Mlx5Vf.IMAGE_HEADER, size - Mlx5Vf.IMAGE_HEADER).asByteBuffer());
            ok = (int) crc.getValue() == img.get(INT, Mlx5Vf.IMG_CRC);
        }
        for (long r = 0; ok && r < records; r++) {
            int index = img.get(INT, Mlx5Vf.IMAGE_HEADER + r * Mlx5Vf.IMG_RECORD);
            ok = index >= 0 && index < pages;
        }
        if (!ok) {
            return event(Mlx5Vf.EV_LOAD_DONE, Mlx5Vf.ST_BAD_IMAGE, token, 0, 0, 0);
        }
        for (long r = 0; r < records; r++) {
            long at = Mlx5Vf.IMAGE_HEADER + r * Mlx5Vf.IMG_RECORD;
            MemorySegment.copy(img, at + 4, state, (long) img.get(INT, at) * Mlx5Vf.PAGE, Mlx5Vf.PAGE);
        }
        loads++;
        return event(Mlx5Vf.EV_LOAD_DONE, Mlx5Vf.ST_OK, token, size, 0, 0);
    }

    /** Moves {@code bytes} between {@code buf} and the key's pages, translating each page through the MTT now. */
    private boolean transfer(Mkey k, MemorySegment buf, long bytes, boolean toHost) {
        for (long off = 0; off < bytes; off += Mlx5Vf.PAGE) {
            long len = Math.min(Mlx5Vf.PAGE, bytes - off);
            long dma = k.mtt[(int) (off / Mlx5Vf.PAGE)];
            long moved = toHost ? port.write(dma, buf, off, len) : port.read(dma, buf, off, len);
            if (moved < len) {
                return false;
            }
        }
        return true;
    }

    private int createTracker(int rxKey, long rangesAt, long count, long logPage) {
        Mkey rx = mkeys.get(rxKey);
        if (rx == null) {
            return Mlx5Vf.ST_BAD_RESOURCE;
        }
        if (count < 1 || count > trackerMaxRanges || logPage < 12 || logPage > 30 || (1L << logPage) < trackerMinPage || (1L << logPage) > trackerMaxPage) {
            return Mlx5Vf.ST_BAD_PARAM;
        }
        MemorySegment buf = scratch(16 * count);
        if (port.read(rangesAt, buf, 0, 16 * count) < 16 * count) {
            return Mlx5Vf.ST_DMA_ERROR;
        }
        long[] start = new long[(int) count];
        long[] length = new long[(int) count];
        long page = 1L << logPage;
        for (int i = 0; i < count; i++) {
            start[i] = buf.get(LONG, 16L * i);
            length[i] = buf.get(LONG, 16L * i + 8);
            if (length[i] <= 0 || start[i] % page != 0 || length[i] % page != 0 || (length[i] >>> logPage) > Integer.MAX_VALUE
                    || (i > 0 && start[i] < start[i - 1] + length[i - 1])) {
                return Mlx5Vf.ST_BAD_PARAM;
            }
        }
        long span = start[(int) count - 1] + length[(int) count - 1] - start[0];
        if (span > trackerMaxSpace) {
            return Mlx5Vf.ST_BAD_PARAM;
        }
        int id = nextTracker++;
        trackers.put(id, new Tracker(start, length, (int) logPage, rxKey));
        cmd.set(LONG, Mlx5Vf.CMD_OUT0, id);
        return Mlx5Vf.ST_OK;
    }

    private int report(int id, long iova, long len, int token) {
        Tracker t = trackers.get(id);
        Mkey rx = t == null ? null : mkeys.get(t.rxKey);
        if (t == null || rx == null) {
            return Mlx5Vf.ST_BAD_RESOURCE;
        }
        int messages = rx.mtt.length;
        int perMessage = Mlx5Vf.PAGE / 8;
        MemorySegment msg = scratch(Mlx5Vf.PAGE);
        int r = 0;
        int bit = -1;
        boolean more = true;
        while (more) {
            if (!asyncSlot()) {
                return Mlx5Vf.ST_OK; // no room for another event: the last one said REPORTING
            }
            int n = 0;
            while (n < perMessage) {
                // the next dirty page inside [iova, iova + len)
                bit = nextDirty(t, iova, len, r, bit);
                if (bit < 0) {
                    if (++r >= t.start.length) {
                        break;
                    }
                    continue;
                }
                msg.set(LONG, 8L * n++, t.start[r] + ((long) bit << t.pageShift));
                t.dirty[r].clear(bit);
            }
            more = r < t.start.length;
            int m = t.nextMessage;
            t.nextMessage = (m + 1) % messages;
            if (port.write(rx.mtt[m], msg, 0, 8L * n) < 8L * n) {
                event(Mlx5Vf.EV_TRACK_REPORT, Mlx5Vf.ST_DMA_ERROR, token, m, 0, Mlx5Vf.TRACK_DONE);
                return Mlx5Vf.ST_OK;
            }
            event(Mlx5Vf.EV_TRACK_REPORT, Mlx5Vf.ST_OK, token, m, n, more ? Mlx5Vf.TRACK_REPORTING : Mlx5Vf.TRACK_DONE);
        }
        return Mlx5Vf.ST_OK;
    }

    /** The next dirty bit after {@code after} in range {@code r} whose page lies in {@code [iova, iova + len)}, or -1. */
    private static int nextDirty(Tracker t, long iova, long len, int r, int after) {
        long lo = Math.max(iova, t.start[r]);
        long hi = Math.min(iova + len, t.start[r] + t.length[r]);
        if (lo >= hi) {
            return -1;
        }
        int first = (int) ((lo - t.start[r]) >>> t.pageShift);
        int bit = t.dirty[r].nextSetBit(Math.max(first, after + 1));
        if (bit < 0 || t.start[r] + ((long) bit << t.pageShift) >= hi) {
            return -1;
        }
        return bit;
    }

    private int event(int type, int status, int token, long out0, long out1, int st) {
        long size = reg(Mlx5Vf.REG_EQ_SIZE);
        if (!eqEnabled || eqTail - eqHead >= size) {
            return Mlx5Vf.ST_BAD_RES_STATE;
        }
        if (status != Mlx5Vf.ST_OK) {
            deviceErrors++;
        }
        event.fill((byte) 0);
        event.set(ValueLayout.JAVA_BYTE, Mlx5Vf.EQE_TYPE, (byte) type);
        event.set(ValueLayout.JAVA_BYTE, Mlx5Vf.EQE_STATUS, (byte) status);
        event.set(INT, Mlx5Vf.EQE_TOKEN, token);
        event.set(LONG, Mlx5Vf.EQE_OUT0, out0);
        event.set(LONG, Mlx5Vf.EQE_OUT1, out1);
        event.set(INT, Mlx5Vf.EQE_STATE, st);
        event.set(ValueLayout.JAVA_BYTE, Mlx5Vf.OWNER, (byte) Queues.ownerBit(eqTail, size));
        port.write(reg(Mlx5Vf.REG_EQ_BASE) + (eqTail % size) * Mlx5Vf.EQE_SIZE, event, 0, Mlx5Vf.EQE_SIZE);
        eqTail++;
        return Mlx5Vf.ST_OK;
    }

    /** The {@link DeviceModelFactory} for {@value Mlx5Vf#MODEL}. */
    public static final class Factory implements DeviceModelFactory {
        @Override
        public String model() {
            return Mlx5Vf.MODEL;
        }

        @Override
        public DeviceModel create(Device device, PhysicalAddressSpace cpu) {
            return new Mlx5VfModel(device);
        }
    }
}
