package io.dma4j.consumers.dmabuf;

import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMappingException;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.pci.Bar;

import java.util.List;
import java.util.function.LongSupplier;

/**
 * A VFIO-style exporter of ranges of a device's memory BAR (drivers/vfio/pci/vfio_pci_dmabuf.c,
 * v6.19, with the 2026 revoke rules): ranges must be non-empty, page aligned, inside the BAR
 * and not overflow; an attachment must take peer memory ({@code peer2peer}) and the buffer
 * must not be revoked; only a revocable importer may pin; a mapping goes through
 * {@link PhysVecMapping}. The buffer is revoked whenever the device's memory decode is turned
 * off or the device is reset, restored when decode comes back, and revoked for good when the
 * exporter closes. A revoke invalidates every importer's mappings and then waits, up to
 * {@code timeoutNs} on the clock, for fences and unmaps, with a warning for any importer that
 * did not stop.
 *
 * <p>Thread safety: safe for concurrent use; state changes under the buffer's reservation lock.
 */
public final class VfioBarExporter implements DmaBufExporter {
    /** VFIO's wait for importers to unmap after a revoke. */
    public static final long DEFAULT_TIMEOUT_NS = 1_000_000_000L;

    private final Device device;
    private final Bar bar;
    private final long[] phys;
    private final long[] len;
    private final LongSupplier clock;
    private final long timeoutNs;
    private DmaBuf buf;
    private boolean revoked;
    private boolean closed;

    private VfioBarExporter(Device device, Bar bar, long[] phys, long[] len, LongSupplier clock, long timeoutNs) {
        this.device = device;
        this.bar = bar;
        this.phys = phys;
        this.len = len;
        this.clock = clock;
        this.timeoutNs = timeoutNs;
        this.revoked = !device.memoryDecode(); // at export: revoked unless the BAR decodes
    }

    /**
     * {@code VFIO_DEVICE_FEATURE_DMA_BUF}: exports ranges of BAR {@code barIndex}; the buffer is
     * {@link #buffer()}.
     *
     * @param offsets offsets into the BAR
     * @param lengths the ranges' lengths
     * @throws IllegalArgumentException for a BAR that is not memory, no ranges, or a range that
     *                                  is empty, not page aligned, outside the BAR or overflowing
     */
    public static VfioBarExporter export(Device device, int barIndex, long[] offsets, long[] lengths, LongSupplier clock, long timeoutNs) {
        Bar bar = device.bar(barIndex);
        if (bar.kind() != Bar.Kind.MEMORY) {
            throw new IllegalArgumentException(device.name() + ": BAR " + barIndex + " holds registers, not memory to export");
        }
        if (offsets.length == 0 || offsets.length != lengths.length) {
            throw new IllegalArgumentException(device.name() + ": nr_ranges " + offsets.length + " (expected: > 0, one length per offset)");
        }
        long[] p = new long[offsets.length];
        long total = 0;
        for (int i = 0; i < offsets.length; i++) {
            long off = offsets[i];
            long l = lengths[i];
            if (l <= 0 || (off & 0xFFF) != 0 || (l & 0xFFF) != 0 || off < 0 || off + l < off || off + l > bar.size()) {
                throw new IllegalArgumentException(String.format("%s: range %d (offset 0x%x, length 0x%x) must be non-empty, page aligned and inside BAR %d of 0x%x bytes",
                        device.name(), i, off, l, barIndex, bar.size()));
            }
            p[i] = bar.cpuAddress() + off;
            total += l;
        }
        VfioBarExporter e = new VfioBarExporter(device, bar, p, lengths.clone(), clock, timeoutNs);
        e.buf = new DmaBuf(device.name() + ".bar" + barIndex, total, e);
        return e;
    }

    /** The exported buffer. */
    public DmaBuf buffer() {
        return buf;
    }

    @Override
    public boolean dynamic() {
        return true;
    }

    @Override
    public void attach(DmaBuf buf, DmaBufAttachment a) {
        if (!a.peer2peer()) {
            throw new IllegalArgumentException("-EOPNOTSUPP: " + a.name() + " cannot take memory without struct pages (allow_peer2peer is false)");
        }
        if (revoked) {
            throw new IllegalStateException("-ENODEV: " + buf.name() + " is revoked");
        }
    }

    @Override
    public void pin(DmaBufAttachment a) {
        if (a.importer() == null || !a.importer().revocable()) {
            throw new UnsupportedOperationException("-EOPNOTSUPP: " + a.name() + " wants to pin " + buf.name() + " but cannot honour a revoke");
        }
    }

    @Override
    public DmaVec map(DmaBufAttachment a, DmaDirection dir) {
        if (revoked) {
            throw new DmaMappingException(a.device().device().name(), phys[0], buf.size(), "-ENODEV: " + buf.name() + " is revoked");
        }
        return PhysVecMapping.map(a.device(), phys, len, phys.length, dir);
    }

    @Override
    public void unmap(DmaBufAttachment a, DmaVec mapping, DmaDirection dir) {
        PhysVecMapping.free(a.device(), mapping, dir);
    }

    /** Whether the buffer is revoked now. */
    public boolean revoked() {
        buf.resv().lock();
        try {
            return revoked;
        } finally {
            buf.resv().unlock();
        }
    }

    /**
     * The device's memory decode (command register) changes: off revokes the buffer first and
     * then stops the decode; on restores the decode and then the buffer (unless closed).
     *
     * @return importers that did not stop in time (empty normally)
     */
    public List<String> setMemoryDecode(boolean enabled) {
        // vfio_basic_config_write: the buffer is revoked before the command register stops the
        // decode (DMA in flight finishes first), and restored only after decode is back
        if (!enabled) {
            List<String> late = move(true);
            device.setMemoryDecode(false);
            return late;
        }
        device.setMemoryDecode(true);
        return move(closed);
    }

    /** The device is reset: the buffer is revoked during the reset and restored after it (when decode is on). */
    public List<String> reset() {
        List<String> late = move(true);
        if (device.behaviour() != null) {
            device.behaviour().reset();
        }
        move(closed || !device.memoryDecode());
        return late;
    }

    /** The device is closed: the buffer is revoked for good and every attachment detached from it. */
    public List<String> close() {
        buf.resv().lock();
        try {
            closed = true;
        } finally {
            buf.resv().unlock();
        }
        List<String> late = move(true);
        for (DmaBufAttachment a : buf.attachments()) {
            buf.detach(a);
        }
        return late;
    }

    /** {@code vfio_pci_dma_buf_move}: flip the state under the reservation lock, invalidate, wait. */
    private List<String> move(boolean revoke) {
        buf.resv().lock();
        try {
            if (revoked == revoke) {
                return List.of();
            }
            revoked = revoke;
            buf.invalidateMappings();
            return revoke ? buf.waitForImporters(timeoutNs, clock) : List.of();
        } finally {
            buf.resv().unlock();
        }
    }

    /** The exported BAR. */
    public Bar bar() {
        return bar;
    }
}
