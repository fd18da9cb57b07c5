package io.dma4j.consumers.dmabuf;

import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.MisuseCheck;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * A buffer shared between drivers ({@code struct dma_buf}, drivers/dma-buf/dma-buf.c): an
 * exporter's memory, a reservation object, and the attachments of importing devices.
 * <ul>
 * <li>{@link #attach} (static importer) and {@link #dynamicAttach}: the exporter may veto;
 *     when exactly one side is dynamic the core pins (for a dynamic exporter) and maps once at
 *     attach time, and {@link #map} then hands out that cached mapping;</li>
 * <li>{@link #map}, {@link #unmap}, {@link #pin}, {@link #unpin} and {@link #invalidateMappings}
 *     need the reservation lock; a call without it is reported as DMA-debug misuse
 *     ({@link MisuseCheck#DMABUF_RESV_NOT_HELD}) and changes nothing; {@link #mapUnlocked} and
 *     {@link #unmapUnlocked} take it;</li>
 * <li>after {@link #invalidateMappings} the exporter waits ({@link #waitForImporters}) for the
 *     fences to retire and the importers to unmap, with a bounded wait and a warning that names
 *     any importer that did not.</li>
 * </ul>
 *
 * <p>Thread safety: safe for concurrent use under the reservation lock's rules.
 */
public final class DmaBuf implements AutoCloseable {
    private final String name;
    private final long size;
    private final DmaBufExporter exporter;
    private final DmaResv resv = new DmaResv();
    private final List<DmaBufAttachment> attachments = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();
    private boolean closed;

    /** An exported buffer ({@code dma_buf_export}). */
    public DmaBuf(String name, long size, DmaBufExporter exporter) {
        if (size <= 0) {
            throw new IllegalArgumentException(name + ": dma-buf size " + size + " (expected: > 0)");
        }
        this.name = name;
        this.size = size;
        this.exporter = exporter;
    }

    public String name() {
        return name;
    }

    public long size() {
        return size;
    }

    public DmaResv resv() {
        return resv;
    }

    /** Whether the exporter is dynamic (can pin; its memory may move). */
    public boolean dynamic() {
        return exporter.dynamic();
    }

    /** {@code dma_buf_attach}: a static importer (no invalidate callback, no peer memory). */
    public DmaBufAttachment attach(DmaMapper device) {
        return attach(device, null);
    }

    /** {@code dma_buf_dynamic_attach}. */
    public DmaBufAttachment dynamicAttach(DmaMapper device, DmaBufImporter importer) {
        if (importer == null) {
            throw new IllegalArgumentException(name + ": a dynamic attachment needs an importer with invalidate_mappings");
        }
        return attach(device, importer);
    }

    private DmaBufAttachment attach(DmaMapper device, DmaBufImporter importer) {
        DmaBufAttachment a = new DmaBufAttachment(this, device, importer);
        resv.lock();
        try {
            checkOpen();
            exporter.attach(this, a);
            if (a.dynamic() != exporter.dynamic()) { // the core pins (dynamic exporter) and caches one mapping
                try {
                    if (exporter.dynamic()) {
                        exporter.pin(a);
                        a.pinned = true;
                    }
                    a.cached = exporter.map(a, DmaDirection.BIDIRECTIONAL);
                    a.live.add(a.cached);
                } catch (RuntimeException e) {
                    if (a.pinned) {
                        exporter.unpin(a);
                    }
                    exporter.detach(this, a);
                    throw e;
                }
            }
            attachments.add(a);
            return a;
        } finally {
            resv.unlock();
        }
    }

    /** {@code dma_buf_detach}: drops a cached mapping and pin. */
    public void detach(DmaBufAttachment a) {
        resv.lock();
        try {
            own(a);
            if (a.cached != null) {
                exporter.unmap(a, a.cached, DmaDirection.BIDIRECTIONAL);
                a.live.remove(a.cached);
                a.cached = null;
            }
            if (a.pinned) {
                exporter.unpin(a);
                a.pinned = false;
            }
            exporter.detach(this, a);
            a.detached = true;
            attachments.remove(a);
        } finally {
            resv.unlock();
        }
    }

    /** {@code dma_buf_pin}: a dynamic importer keeps the buffer where it is; reservation lock held. */
    public void pin(DmaBufAttachment a) {
        held("dma_buf_pin", a);
        own(a);
        exporter.pin(a);
        a.pinned = true;
    }

    /** {@code dma_buf_unpin}; reservation lock held. */
    public void unpin(DmaBufAttachment a) {
        held("dma_buf_unpin", a);
        own(a);
        if (a.pinned) {
            exporter.unpin(a);
            a.pinned = false;
        }
    }

    /** {@code dma_buf_map_attachment}; reservation lock held. */
    public DmaVec map(DmaBufAttachment a, DmaDirection dir) {
        held("dma_buf_map_attachment", a);
        own(a);
        if (a.cached != null) {
            return a.cached;
        }
        DmaVec v = exporter.map(a, dir);
        a.live.add(v);
        return v;
    }

    /** {@code dma_buf_unmap_attachment}; reservation lock held. */
    public void unmap(DmaBufAttachment a, DmaVec v, DmaDirection dir) {
        held("dma_buf_unmap_attachment", a);
        own(a);
        if (v == a.cached) {
            return; // the cached mapping lives until detach
        }
        if (!a.live.remove(v)) {
            throw new DmaApiMisuseException(a.device().device().name(), MisuseCheck.DMABUF_BAD_UNMAP, String.format(
                    "%s: unmap of a mapping %s does not hold (already unmapped, or another attachment's)", name, a.name()));
        }
        exporter.unmap(a, v, dir);
    }

    /** {@code dma_buf_map_attachment_unlocked}: takes the reservation lock. */
    public DmaVec mapUnlocked(DmaBufAttachment a, DmaDirection dir) {
        resv.lock();
        try {
            return map(a, dir);
        } finally {
            resv.unlock();
        }
    }

    /** {@code dma_buf_unmap_attachment_unlocked}. */
    public void unmapUnlocked(DmaBufAttachment a, DmaVec v, DmaDirection dir) {
        resv.lock();
        try {
            unmap(a, v, dir);
        } finally {
            resv.unlock();
        }
    }

    /**
     * {@code dma_buf_invalidate_mappings} (was {@code dma_buf_move_notify}), called by the
     * exporter with the reservation lock held: every dynamic importer's callback runs; for an
     * unpinned attachment it is a move, for a pinned one a revoke.
     */
    public void invalidateMappings() {
        if (!resv.held()) {
            throw new DmaApiMisuseException(name, MisuseCheck.DMABUF_RESV_NOT_HELD, name + ": dma_buf_invalidate_mappings without the reservation lock held");
        }
        for (DmaBufAttachment a : List.copyOf(attachments)) {
            if (a.dynamic()) {
                a.importer().invalidateMappings(a);
            }
        }
    }

    /**
     * After an invalidate: waits up to {@code timeoutNs} for the fences to retire, then up to
     * {@code timeoutNs} for the dynamic importers to unmap (VFIO waits for fences, then a
     * second for unmaps); reservation lock held. Each importer that still holds a mapping,
     * and each unsignalled fence, is named in a warning ({@link #warnings()}).
     *
     * @return the names of the importers (and fence owners) that did not finish in time
     */
    public List<String> waitForImporters(long timeoutNs, LongSupplier clock) {
        if (!resv.held()) {
            throw new DmaApiMisuseException(name, MisuseCheck.DMABUF_RESV_NOT_HELD, name + ": waiting for importers without the reservation lock held");
        }
        List<String> late = new ArrayList<>();
        for (DmaFence f : resv.waitFences(timeoutNs, clock)) {
            late.add(f.owner());
            warnings.add(String.format("%s: the fence of %s did not signal within %d ms of an invalidate", name, f.owner(), timeoutNs / 1_000_000));
        }
        long start = clock.getAsLong();
        while (stillMapped() != null && clock.getAsLong() - start < timeoutNs) {
            Thread.onSpinWait();
        }
        for (DmaBufAttachment a : attachments) {
            if (holdsMappings(a)) {
                late.add(a.name());
                warnings.add(String.format("%s: importer %s still holds %d mapping(s) %d ms after an invalidate: it did not honour invalidate_mappings",
                        name, a.name(), a.live.size(), timeoutNs / 1_000_000));
            }
        }
        return late;
    }

    private DmaBufAttachment stillMapped() {
        for (DmaBufAttachment a : attachments) {
            if (holdsMappings(a)) {
                return a;
            }
        }
        return null;
    }

    /** A dynamic importer that still holds a mapping of its own (the core's cached one does not count). */
    private static boolean holdsMappings(DmaBufAttachment a) {
        return a.dynamic() && a.live.size() > (a.cached != null ? 1 : 0);
    }

    /** Warnings the exporter's waits produced (importers that ignored an invalidate). */
    public List<String> warnings() {
        resv.lock();
        try {
            return List.copyOf(warnings);
        } finally {
            resv.unlock();
        }
    }

    /** Attachments now. */
    public List<DmaBufAttachment> attachments() {
        resv.lock();
        try {
            return List.copyOf(attachments);
        } finally {
            resv.unlock();
        }
    }

    /** Drops the last reference: every attachment is detached, then the exporter's {@code release}. Idempotent. */
    @Override
    public void close() {
        resv.lock();
        try {
            if (closed) {
                return;
            }
            for (DmaBufAttachment a : List.copyOf(attachments)) {
                for (DmaVec v : List.copyOf(a.live)) {
                    if (v != a.cached) {
                        exporter.unmap(a, v, DmaDirection.BIDIRECTIONAL);
                        a.live.remove(v);
                    }
                }
                detach(a);
            }
            closed = true;
            exporter.release(this);
        } finally {
            resv.unlock();
        }
    }

    private void held(String call, DmaBufAttachment a) {
        if (!resv.held()) {
            throw new DmaApiMisuseException(a.device().device().name(), MisuseCheck.DMABUF_RESV_NOT_HELD,
                    String.format("%s: %s by %s without the reservation lock held", name, call, a.name()));
        }
    }

    private void own(DmaBufAttachment a) {
        checkOpen();
        if (a.buffer() != this || a.detached) {
            throw new IllegalArgumentException(name + ": " + a + " is not attached to this buffer");
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(name + ": the dma-buf was released");
        }
    }
}
