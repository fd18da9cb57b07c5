package io.dma4j.platform.device;

import io.dma4j.platform.memory.RegisterHandler;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The register block behind a register BAR. Until a device model is attached it behaves
 * as plain 64-bit registers that read back what was written (a device with no loaded
 * model); afterwards every access goes to the model.
 *
 * <p>Thread safety: safe for concurrent use.
 */
public final class RegisterFile implements RegisterHandler {
    private final long size;
    private final AtomicLongArray plain;
    private volatile RegisterHandler model;

    /** @param size the BAR size in bytes */
    public RegisterFile(long size) {
        this.size = size;
        this.plain = new AtomicLongArray((int) Math.min(size, 1 << 16) / 8);
    }

    /** Routes accesses to a device model from now on. */
    public void attach(RegisterHandler handler) {
        this.model = handler;
    }

    @Override
    public long readRegister(long offset, int width) {
        RegisterHandler m = model;
        if (m != null) {
            return m.readRegister(offset, width);
        }
        int i = (int) (offset >>> 3);
        if (offset >= size || i >= plain.length()) {
            return 0;
        }
        long v = plain.get(i) >>> (8 * (offset & 7));
        return width == 8 ? v : v & ((1L << (8 * width)) - 1);
    }

    @Override
    public void writeRegister(long offset, int width, long value) {
        RegisterHandler m = model;
        if (m != null) {
            m.writeRegister(offset, width, value);
            return;
        }
        int i = (int) (offset >>> 3);
        if (offset < size && i < plain.length()) {
            int shift = (int) (8 * (offset & 7));
            long mask = (width == 8 ? -1L : (1L << (8 * width)) - 1) << shift;
            long old;
            do {
                old = plain.get(i);
            } while (!plain.compareAndSet(i, old, (old & ~mask) | ((value << shift) & mask)));
        }
    }
}
