package io.dma4j.platform.device;

import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.platform.memory.RegisterHandler;
import io.dma4j.platform.pci.Bar;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A simple DMA copy engine, like the engines the kernel's dmatest drives: the driver
 * writes a source bus address, a destination bus address and a length into BAR 0, then
 * writes {@link #GO} to the control register; the engine reads the source through its
 * DMA port and writes the destination, then reports {@link #STATUS_DONE} or, after a
 * fault, {@link #STATUS_FAULT} with the faulting bus address.
 *
 * <p>Register layout (64-bit registers, offsets in BAR 0): {@link #REG_SRC},
 * {@link #REG_DST}, {@link #REG_LEN}, {@link #REG_CONTROL}, {@link #REG_STATUS},
 * {@link #REG_FAULT_ADDRESS}, {@link #REG_BYTES_DONE} (bytes written to the destination). The copy runs to completion inside
 * the doorbell write (the model has no background engine).
 *
 * <p>Thread safety: one copy at a time per engine (doorbell writes are serialised).
 */
public final class CopyEngine implements DeviceModel, RegisterHandler {
    /** Model name in machine descriptions. */
    public static final String MODEL = "copy-engine";
    public static final long REG_SRC = 0x00;
    public static final long REG_DST = 0x08;
    public static final long REG_LEN = 0x10;
    public static final long REG_CONTROL = 0x18;
    public static final long REG_STATUS = 0x20;
    public static final long REG_FAULT_ADDRESS = 0x28;
    public static final long REG_BYTES_DONE = 0x30;
    /** Control value that starts a copy. */
    public static final long GO = 1;
    public static final long STATUS_IDLE = 0;
    public static final long STATUS_DONE = 1;
    public static final long STATUS_FAULT = 2;
    private static final long CHUNK = 64 * 1024;

    private final Device device;
    private final MemorySegment scratch = Arena.ofAuto().allocate(CHUNK, 4096);
    private long src;
    private long dst;
    private long len;
    private long status;
    private long faultAddress;
    private long bytesDone;

    /** Creates the engine for a device. */
    public CopyEngine(Device device) {
        this.device = device;
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public synchronized void reset() {
        src = dst = len = faultAddress = bytesDone = 0;
        status = STATUS_IDLE;
    }

    @Override
    public synchronized long readRegister(long offset, int width) {
        long v = switch ((int) offset) {
            case (int) REG_SRC -> src;
            case (int) REG_DST -> dst;
            case (int) REG_LEN -> len;
            case (int) REG_STATUS -> status;
            case (int) REG_FAULT_ADDRESS -> faultAddress;
            case (int) REG_BYTES_DONE -> bytesDone;
            default -> 0;
        };
        return width == 8 ? v : v & ((1L << (8 * width)) - 1);
    }

    @Override
    public synchronized void writeRegister(long offset, int width, long value) {
        switch ((int) offset) {
            case (int) REG_SRC -> src = value;
            case (int) REG_DST -> dst = value;
            case (int) REG_LEN -> len = value;
            case (int) REG_CONTROL -> {
                if (value == GO) {
                    run();
                }
            }
            default -> { } // writes to read-only or unknown registers are ignored, as on hardware
        }
    }

    private void run() {
        DmaPort port = device.port();
        long done = 0;
        status = STATUS_DONE;
        while (done < len) {
            long n = Math.min(CHUNK, len - done);
            long got = port.read(src + done, scratch, 0, n);
            if (got < n) {
                fault(src + done + got);
                break;
            }
            long put = port.write(dst + done, scratch, 0, n);
            done += put;
            if (put < n) {
                fault(dst + done);
                break;
            }
        }
        bytesDone = done;
    }

    private void fault(long busAddress) {
        status = STATUS_FAULT;
        faultAddress = busAddress;
    }

    /** One lock per engine (by register BAR address): what a driver's per-device lock would be. */
    private static final java.util.concurrent.ConcurrentHashMap<Long, Object> ENGINE_LOCKS = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * CPU-side helper: programs the engine at {@code regs} (its BAR 0) through MMIO and
     * rings the doorbell.
     *
     * <p>Thread safety: the four register writes, the doorbell and the status read are one
     * step per engine (a lock per engine), so threads sharing an engine get whole copies.
     * Code that programs the registers itself must serialise them the same way, as a driver
     * holds a lock around a device's registers: the engine has one set.
     *
     * @return the status register after the copy: {@link #STATUS_DONE} or {@link #STATUS_FAULT}
     */
    public static long copy(PhysicalAddressSpace cpu, Bar regs, long srcBus, long dstBus, long length) {
        long base = regs.cpuAddress();
        synchronized (ENGINE_LOCKS.computeIfAbsent(base, k -> new Object())) {
            cpu.writeLong(base + REG_SRC, srcBus);
            cpu.writeLong(base + REG_DST, dstBus);
            cpu.writeLong(base + REG_LEN, length);
            cpu.writeLong(base + REG_CONTROL, GO);
            return cpu.readLong(base + REG_STATUS);
        }
    }

    /** The {@link DeviceModelFactory} for {@value #MODEL}. */
    public static final class Factory implements DeviceModelFactory {
        @Override
        public String model() {
            return MODEL;
        }

        @Override
        public DeviceModel create(Device device, PhysicalAddressSpace cpu) {
            return new CopyEngine(device);
        }
    }
}
