package io.dma4j.platform.device;

import io.dma4j.platform.fault.FaultInjector;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.platform.memory.Region;

import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A device's path to memory. Device models read and write <em>bus addresses</em>; the
 * port translates each 4 KiB page through the attached {@link DmaTranslation} and then
 * reaches DRAM or a peer's memory BAR. A failed translation, or a physical address with
 * no memory behind it, is a fault: it is recorded in the machine's {@link FaultLog},
 * nothing at or after the faulting page is touched, and the call returns the bytes moved so far so
 * the model can report an error status the way hardware does. A fault never throws.
 *
 * <p>Thread safety: safe for concurrent use; the translation may be swapped at any time
 * by a mapping backend (through {@link Device.Control}) and each page uses the translation current when it is reached.
 */
public final class DmaPort {
    private static final long PAGE = 4096;

    private final String device;
    private final PhysicalAddressSpace space;
    private final FaultLog faults;
    private final DmaTranslation initial;
    private volatile PeerRouter router = PeerRouter.NONE;
    private volatile DmaTranslation translation;
    private final FaultInjector injector;
    private final AtomicLong bytesRead = new AtomicLong();
    private final AtomicLong bytesWritten = new AtomicLong();

    /**
     * @param device      the owning device's name (for fault records)
     * @param space       the machine's physical address space
     * @param faults      the machine's fault log
     * @param translation the translation in force until a backend attaches another
     */
    public DmaPort(String device, PhysicalAddressSpace space, FaultLog faults, DmaTranslation translation) {
        this(device, space, faults, translation, new FaultInjector());
    }

    /**
     * As {@link #DmaPort(String, PhysicalAddressSpace, FaultLog, DmaTranslation)}, with the
     * machine's fault injector: at {@code dma_transfer} a transfer faults (reason
     * {@link FaultReason#INJECTED}) before it moves a byte.
     */
    public DmaPort(String device, PhysicalAddressSpace space, FaultLog faults, DmaTranslation translation, FaultInjector injector) {
        this.injector = Objects.requireNonNull(injector, "injector");
        this.device = Objects.requireNonNull(device);
        this.space = Objects.requireNonNull(space);
        this.faults = Objects.requireNonNull(faults);
        this.initial = Objects.requireNonNull(translation);
        this.translation = translation;
    }

    /** Attaches a translation (through the device's {@link Device.Control}). */
    void attach(DmaTranslation t) {
        this.translation = Objects.requireNonNull(t, "translation");
    }

    /** Sets how the fabric routes this device's peer traffic (done once by the machine). */
    void setRouter(PeerRouter router) {
        this.router = router;
    }

    /** Restores the translation the device started with. */
    void detach() {
        this.translation = initial;
    }

    /** The translation in force. */
    public DmaTranslation translation() {
        return translation;
    }

    /**
     * The device reads {@code len} bytes of memory at {@code busAddress} into {@code dst}.
     *
     * @return the bytes read: {@code len}, or fewer when a fault (recorded) stopped the
     *         transfer at {@code busAddress + result}
     */
    public long read(long busAddress, MemorySegment dst, long dstOffset, long len) {
        return transfer(busAddress, dst, dstOffset, len, DmaAccess.READ);
    }

    /**
     * The device writes {@code len} bytes from {@code src} to memory at {@code busAddress}.
     *
     * @return the bytes written: {@code len}, or fewer when a fault (recorded) stopped the
     *         transfer at {@code busAddress + result}
     */
    public long write(long busAddress, MemorySegment src, long srcOffset, long len) {
        return transfer(busAddress, src, srcOffset, len, DmaAccess.WRITE);
    }

    /** Bytes the device has read from memory. */
    public long bytesRead() {
        return bytesRead.get();
    }

    /** Bytes the device has written to memory. */
    public long bytesWritten() {
        return bytesWritten.get();
    }

    /** The machine's fault log this port records into. */
    public FaultLog faultLog() {
        return faults;
    }

    /**
     * The machine's fault injector, for device models: a model asks it at
     * {@link FaultInjector.Point#DEVICE_COMMAND} with its device's name before it executes
     * a command, and completes the command with its internal-error status when told to.
     */
    public FaultInjector faultInjector() {
        return injector;
    }

    /** Faults this device has caused. */
    public long faultCount() {
        return faults.count(device);
    }

    private long transfer(long bus, MemorySegment buf, long bufOffset, long len, DmaAccess access) {
        if (len < 0) {
            throw new IllegalArgumentException("len: " + len + " (expected: >= 0)");
        }
        if (injector.armed() && len > 0 && injector.shouldFail(FaultInjector.Point.DMA_TRANSFER, device)) {
            faults.record(device, bus, access, FaultReason.INJECTED, "injected failure (dma_transfer)");
            return 0;
        }
        long done = 0;
        while (done < len) {
            long n = Math.min(len - done, PAGE - (bus & (PAGE - 1)));
            DmaTranslation t = translation;
            PeerRouter pr = router;
            long phys = pr.belowSwitch(device, bus);
            if (phys < 0) {
                phys = t.translate(bus, access);
                if (phys < 0) {
                    faults.record(device, bus, access, FaultReason.ofCode(phys), t.describe());
                    return done;
                }
                FaultReason blocked = pr.upstream(device, phys);
                if (blocked != null) {
                    faults.record(device, bus, access, blocked, t.describe() + String.format(" -> peer 0x%x", phys));
                    return done;
                }
            }
            Region r = space.regionFor(phys, n);
            if (r == null || !r.isMemory()) {
                faults.record(device, bus, access, FaultReason.UNBACKED, t.describe() + String.format(" -> phys 0x%x", phys));
                return done;
            }
            if (r.kind() == Region.Kind.BAR_MEMORY) {
                FaultReason unclaimed = pr.claimed(phys);
                if (unclaimed != null) {
                    faults.record(device, bus, access, unclaimed, t.describe() + String.format(" -> BAR 0x%x", phys));
                    return done;
                }
            }
            if (access == DmaAccess.READ) {
                r.memory().read(phys - r.base(), buf, bufOffset, n);
                bytesRead.addAndGet(n);
            } else {
                r.memory().write(phys - r.base(), buf, bufOffset, n);
                bytesWritten.addAndGet(n);
            }
            bus += n;
            bufOffset += n;
            done += n;
        }
        return done;
    }
}
