package io.dma4j.runtime;

import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.IovaState;
import io.dma4j.api.MisuseCheck;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.memory.PhysicalAddressSpace;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * DMA-debug tracking for one device, in the manner of the kernel's debug facility: every
 * live mapping is an entry keyed by DMA address; unmaps and syncs are checked against it,
 * as are the start cachelines of device-writable mappings and, beyond the kernel, the
 * linked ranges of each two-step {@link IovaState}. A violation is reported (see
 * {@link MisuseCheck}); in throwing mode it becomes a {@link DmaApiMisuseException} thrown
 * before the call changes anything.
 *
 * <p>Thread safety: all methods synchronise on this object. Tracking allocates; it is a
 * debugging aid, off the measured fast path.
 */
final class DmaDebug {
    private static final int CACHELINE_SHIFT = 6;

    /** The families of mapping calls; unmapping with another family is a misuse. */
    enum Kind {
        SINGLE("single"), RESOURCE("resource"), SCATTER_GATHER("scatter-gather"), COHERENT("coherent");

        final String label;

        Kind(String label) {
            this.label = label;
        }
    }

    private static final class Entry {
        final Kind kind;
        final long dma;
        final long size;
        final long phys;
        final DmaDirection dir;
        final int sgCallEnts;
        final int sgMappedEnts;
        final long cpuAddress;
        final boolean cachelineTracked;

        Entry(Kind kind, long dma, long size, long phys, DmaDirection dir, int sgCallEnts, int sgMappedEnts, long cpuAddress, boolean cachelineTracked) {
            this.kind = kind;
            this.dma = dma;
            this.size = size;
            this.phys = phys;
            this.dir = dir;
            this.sgCallEnts = sgCallEnts;
            this.sgMappedEnts = sgMappedEnts;
            this.cpuAddress = cpuAddress;
            this.cachelineTracked = cachelineTracked;
        }

        @Override
        public String toString() {
            return String.format("[%s dma=0x%x size=%d dir=%s]", kind.label, dma, size, dir);
        }
    }

    private final String device;
    private final Device dev;
    private final PhysicalAddressSpace space;
    private final boolean throwing;
    private final Consumer<DebugReport> sink;
    private final TreeMap<Long, List<Entry>> live = new TreeMap<>();
    private final Map<Long, Integer> cachelines = new java.util.HashMap<>();
    private final Map<IovaState, NavigableMap<Long, Long>> iova = new IdentityHashMap<>();
    private int liveCount;

    DmaDebug(Device device, PhysicalAddressSpace space, boolean throwing, Consumer<DebugReport> sink) {
        this.device = device.name();
        this.dev = device;
        this.space = space;
        this.throwing = throwing;
        this.sink = sink;
    }

    private void report(MisuseCheck check, String details) {
        String message = check.text() + " " + details;
        sink.accept(new DebugReport(device, check, message));
        if (throwing) {
            throw new DmaApiMisuseException(device, check, message);
        }
    }

    /** Whether violations throw (else they are only reported). */
    boolean throwing() {
        return throwing;
    }

    /** Records a misuse the layers below found (report mode: the exception is not thrown on). */
    void recordBelow(DmaApiMisuseException e) {
        sink.accept(new DebugReport(device, e.check(), e.getMessage()));
    }

    // ---------------------------------------------------------------- map side

    /** Checks made before a streaming map: the target area, MMIO on RAM, cacheline overlap. */
    synchronized void checkMap(long phys, long size, DmaDirection dir, int attrs, boolean peerAllowed) {
        boolean mmio = (attrs & DmaAttrs.MMIO) != 0;
        if (mmio && space.isDram(phys, size)) {
            report(MisuseCheck.MMIO_ON_RAM, String.format("[phys=0x%x] [size=%d bytes] (use no MMIO attribute for RAM)", phys, size));
        }
        if (!mmio && !space.isDram(phys, size) && !(peerAllowed && space.isMemory(phys, size))) {
            report(MisuseCheck.MAP_INVALID_AREA, String.format("[phys=0x%x] [size=%d bytes] (not RAM%s)", phys, size,
                    space.isMemory(phys, size) ? "; a BAR needs the MMIO attribute" : ""));
        }
        if (tracksCacheline(dir, attrs) && cachelines.getOrDefault(phys >>> CACHELINE_SHIFT, 0) > 0) {
            report(MisuseCheck.CACHELINE_OVERLAP, String.format("[phys=0x%x] [cacheline=0x%x] (another device-writable mapping starts in this cacheline)",
                    phys, phys >>> CACHELINE_SHIFT << CACHELINE_SHIFT));
        }
    }

    private static boolean tracksCacheline(DmaDirection dir, int attrs) {
        return dir != DmaDirection.TO_DEVICE
                && (attrs & (DmaAttrs.SKIP_CPU_SYNC | DmaAttrs.DEBUGGING_IGNORE_CACHELINES | DmaAttrs.REQUIRE_COHERENT)) == 0;
    }

    synchronized void addSingle(long phys, long size, long dma, DmaDirection dir, int attrs) {
        add(new Entry((attrs & DmaAttrs.MMIO) != 0 ? Kind.RESOURCE : Kind.SINGLE, dma, size, phys, dir, 0, 0, 0, tracksCacheline(dir, attrs)));
    }

    /** Checks the DMA segments a scatter-list map produced (max segment size, boundary). */
    synchronized void checkSgSegments(ScatterList sg, int count) {
        long max = dev.attributes().maxSegmentSize();
        long boundary = dev.attributes().segmentBoundaryMask();
        for (int i = 0; i < count; i++) {
            long a = sg.dmaAddress(i);
            long len = sg.dmaLength(i);
            if (len > max) {
                report(MisuseCheck.SG_SEGMENT_TOO_LONG, String.format("[segment %d dma=0x%x] [len=%d] [max=%d]", i, a, len, max));
            }
            if (boundary != -1L && (a & ~boundary) != ((a + len - 1) & ~boundary)) {
                report(MisuseCheck.SG_SEGMENT_ACROSS_BOUNDARY, String.format("[segment %d dma=0x%x] [len=%d] [boundary=0x%x]", i, a, len, boundary + 1));
            }
        }
    }

    synchronized void addSg(ScatterList sg, int nents, int count, DmaDirection dir, int attrs) {
        for (int i = 0; i < count; i++) {
            if ((sg.dmaFlags(i) & ScatterList.FLAG_BUS_ADDRESS) == 0) {
                add(new Entry(Kind.SCATTER_GATHER, sg.dmaAddress(i), sg.dmaLength(i), i < nents ? sg.phys(i) : 0, dir, nents, count, 0,
                        i == 0 && tracksCacheline(dir, attrs)));
            }
        }
    }

    synchronized void addCoherent(long phys, long size, long dma, MemorySegment cpu) {
        add(new Entry(Kind.COHERENT, dma, size, phys, DmaDirection.BIDIRECTIONAL, 0, 0, cpu.address(), false));
    }

    private void add(Entry e) {
        live.computeIfAbsent(e.dma, k -> new ArrayList<>(1)).add(e);
        liveCount++;
        if (e.cachelineTracked) {
            cachelines.merge(e.phys >>> CACHELINE_SHIFT, 1, Integer::sum);
        }
    }

    // ---------------------------------------------------------------- unmap side

    /** Checks an unmap of a single or resource mapping; the entry to {@link #forget(Object)} once the unmap succeeded, or null. */
    synchronized Object checkUnmapSingle(Kind kind, long dma, long size, DmaDirection dir) {
        return check(kind, dma, size, dir, -1);
    }

    /** Forgets what a check returned (an entry, or a list of them), after the call below succeeded. */
    @SuppressWarnings("unchecked")
    synchronized void forget(Object found) {
        if (found instanceof Entry e) {
            remove(e);
        } else if (found instanceof List<?> list) {
            for (Entry e : (List<Entry>) list) {
                if (e != null) {
                    remove(e);
                }
            }
        }
    }

    /** Checks a coherent free; the entry to {@link #forget(Object)} once it succeeded, or null. */
    synchronized Object checkFreeCoherent(long dma, long size, MemorySegment cpu) {
        Entry e = find(dma, Kind.COHERENT, size, DmaDirection.BIDIRECTIONAL);
        if (e != null && e.kind == Kind.COHERENT && cpu != null && cpu.address() != e.cpuAddress) {
            report(MisuseCheck.FREE_CPU_ADDRESS, String.format("[device address=0x%x] [size=%d bytes] [cpu alloc address=0x%x] [cpu free address=0x%x]",
                    dma, size, e.cpuAddress, cpu.address()));
        }
        return check(Kind.COHERENT, dma, size, DmaDirection.BIDIRECTIONAL, -1);
    }

    /** Checks an unmap of a scatter list (every segment); the entries to {@link #forget(Object)} once it succeeded. */
    synchronized Object checkUnmapSg(ScatterList sg, int nents, DmaDirection dir) {
        int first = firstTracked(sg, nents);
        Entry head = first < 0 ? null : find(sg.dmaAddress(first), Kind.SCATTER_GATHER, sg.dmaLength(first), dir);
        int mapped = head == null ? nents : head.sgMappedEnts;
        List<Entry> found = new ArrayList<>();
        java.util.Set<Entry> taken = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = 0; i < mapped; i++) {
            if ((sg.dmaFlags(i) & ScatterList.FLAG_BUS_ADDRESS) == 0) {
                Entry e = check(Kind.SCATTER_GATHER, sg.dmaAddress(i), sg.dmaLength(i), dir, nents, taken);
                if (e != null) {
                    found.add(e);
                    taken.add(e);
                }
            }
        }
        return found;
    }

    private static int firstTracked(ScatterList sg, int nents) {
        for (int i = 0; i < nents; i++) {
            if ((sg.dmaFlags(i) & ScatterList.FLAG_BUS_ADDRESS) == 0) {
                return i;
            }
        }
        return -1;
    }

    /** The kernel's check_unmap: returns the matching entry, or null when none exists (after reporting). */
    private Entry check(Kind kind, long dma, long size, DmaDirection dir, int nents) {
        return check(kind, dma, size, dir, nents, java.util.Set.of());
    }

    /** As above, never answering an entry already in {@code taken} (segments of one list that alias one address). */
    private Entry check(Kind kind, long dma, long size, DmaDirection dir, int nents, java.util.Set<Entry> taken) {
        if (dma == DmaMapper.MAPPING_ERROR) {
            report(MisuseCheck.UNMAP_INVALID_ADDRESS, String.format("[device address=0x%x] [size=%d bytes]", dma, size));
            return null;
        }
        Entry e = find(dma, kind, size, dir, taken);
        if (e == null) {
            report(MisuseCheck.UNMAP_NEVER_MAPPED, String.format("[device address=0x%x] [size=%d bytes]", dma, size));
            return null;
        }
        if (e.kind != kind) {
            report(MisuseCheck.UNMAP_WRONG_FUNCTION, String.format("[device address=0x%x] [size=%d bytes] [mapped as %s] [unmapped as %s]",
                    dma, size, e.kind.label, kind.label));
        }
        if (e.size != size) {
            report(MisuseCheck.UNMAP_SIZE, String.format("[device address=0x%x] [map size=%d bytes] [unmap size=%d bytes]", dma, e.size, size));
        }
        if (kind == Kind.SCATTER_GATHER && e.kind == kind && nents >= 0 && e.sgCallEnts != nents) {
            report(MisuseCheck.UNMAP_SG_NENTS, String.format("[device address=0x%x] [map count=%d] [unmap count=%d]", dma, e.sgCallEnts, nents));
        }
        if (e.dir != dir) {
            report(MisuseCheck.UNMAP_DIRECTION, String.format("[device address=0x%x] [size=%d bytes] [mapped with %s] [unmapped with %s]", dma, size, e.dir, dir));
        }
        return e;
    }

    /** The live entry at {@code dma}, preferring one that matches kind, size and direction. */
    private Entry find(long dma, Kind kind, long size, DmaDirection dir) {
        return find(dma, kind, size, dir, java.util.Set.of());
    }

    private Entry find(long dma, Kind kind, long size, DmaDirection dir, java.util.Set<Entry> taken) {
        List<Entry> list = live.get(dma);
        if (list == null) {
            return null;
        }
        Entry any = null;
        for (Entry e : list) {
            if (taken.contains(e)) {
                continue;
            }
            if (e.kind == kind && e.size == size && e.dir == dir) {
                return e;
            }
            if (any == null) {
                any = e;
            }
        }
        return any;
    }

    private void remove(Entry e) {
        List<Entry> list = live.get(e.dma);
        if (list != null && list.remove(e)) {
            liveCount--;
            if (list.isEmpty()) {
                live.remove(e.dma);
            }
            if (e.cachelineTracked) {
                cachelines.computeIfPresent(e.phys >>> CACHELINE_SHIFT, (k, v) -> v == 1 ? null : v - 1);
            }
        }
    }

    // ---------------------------------------------------------------- syncs

    /** The kernel's check_sync for a single range. */
    synchronized void checkSync(long dma, long size, DmaDirection dir, boolean toCpu) {
        Entry e = containing(dma);
        if (e == null) {
            report(MisuseCheck.SYNC_NEVER_MAPPED, String.format("[device address=0x%x] [size=%d bytes]", dma, size));
            return;
        }
        if (dma - e.dma > e.size - size || size > e.size) {
            report(MisuseCheck.SYNC_OUTSIDE, String.format("[device address=0x%x] [allocation size=%d bytes] [sync offset+size=%d]",
                    e.dma, e.size, dma - e.dma + size));
        }
        if (e.dir == DmaDirection.BIDIRECTIONAL) {
            return;
        }
        if (toCpu && e.dir == DmaDirection.TO_DEVICE && dir != DmaDirection.TO_DEVICE) {
            report(MisuseCheck.SYNC_READ_ONLY_FOR_CPU, String.format("[device address=0x%x] [size=%d bytes] [mapped with %s] [synced with %s]", dma, size, e.dir, dir));
        }
        if (!toCpu && e.dir == DmaDirection.FROM_DEVICE && dir != DmaDirection.FROM_DEVICE) {
            report(MisuseCheck.SYNC_WRITE_ONLY_TO_DEVICE, String.format("[device address=0x%x] [size=%d bytes] [mapped with %s] [synced with %s]", dma, size, e.dir, dir));
        }
        if (dir != e.dir) {
            report(MisuseCheck.SYNC_DIRECTION, String.format("[device address=0x%x] [size=%d bytes] [mapped with %s] [synced with %s]", dma, size, e.dir, dir));
        }
    }

    /** check_sync for every segment of a list, plus its entry count. */
    synchronized void checkSyncSg(ScatterList sg, int nents, DmaDirection dir, boolean toCpu) {
        int first = firstTracked(sg, nents);
        if (first < 0) {
            return;
        }
        Entry head = containing(sg.dmaAddress(first));
        if (head != null && head.kind == Kind.SCATTER_GATHER && head.sgCallEnts != nents) {
            report(MisuseCheck.SYNC_SG_NENTS, String.format("[device address=0x%x] [map count=%d] [sync count=%d]", head.dma, head.sgCallEnts, nents));
        }
        int mapped = head == null ? nents : Math.min(nents, head.sgMappedEnts);
        for (int i = 0; i < mapped; i++) {
            if ((sg.dmaFlags(i) & ScatterList.FLAG_BUS_ADDRESS) == 0) {
                checkSync(sg.dmaAddress(i), sg.dmaLength(i), dir, toCpu);
            }
        }
    }

    private Entry containing(long dma) {
        int steps = 0;
        for (Map.Entry<Long, List<Entry>> me = live.floorEntry(dma); me != null && steps < 64; me = live.lowerEntry(me.getKey()), steps++) {
            for (Entry e : me.getValue()) {
                if (e.kind != Kind.COHERENT && dma - e.dma < e.size) {
                    return e;
                }
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- two-step

    synchronized void beforeTryAlloc(IovaState state) {
        if (state.useIova() && iova.containsKey(state)) {
            report(MisuseCheck.IOVA_STATE_IN_USE, String.format("[iova=0x%x] [size=%d bytes] (destroy or free it first; the old reservation would leak)",
                    state.addr(), state.size()));
        }
    }

    synchronized void afterTryAlloc(IovaState state, boolean ok) {
        iova.remove(state);
        if (ok) {
            iova.put(state, new TreeMap<>());
        }
    }

    private NavigableMap<Long, Long> track(IovaState state, String call) {
        NavigableMap<Long, Long> t = iova.get(state);
        if (t == null) {
            report(MisuseCheck.IOVA_UNKNOWN_STATE, String.format("[%s] [state %s]", call, state));
        }
        return t;
    }

    synchronized void beforeLink(IovaState state, long offset, long size) {
        NavigableMap<Long, Long> t = track(state, "iovaLink");
        if (t != null && overlaps(t, offset, offset + size)) {
            report(MisuseCheck.IOVA_LINK_OVERLAP, String.format("[iova=0x%x] [offset=0x%x] [size=%d bytes]", state.addr(), offset, size));
        }
    }

    synchronized void afterLink(IovaState state, long offset, long size) {
        NavigableMap<Long, Long> t = iova.get(state);
        if (t != null) {
            addRange(t, offset, offset + size);
        }
    }

    synchronized void beforeSyncOrUnlink(IovaState state, long offset, long size, String call) {
        NavigableMap<Long, Long> t = track(state, call);
        if (t != null && !covered(t, offset, offset + size)) {
            report(MisuseCheck.IOVA_NOT_LINKED, String.format("[%s] [iova=0x%x] [offset=0x%x] [size=%d bytes] [linked: %s]", call, state.addr(), offset, size, t));
        }
    }

    synchronized void afterUnlink(IovaState state, long offset, long size) {
        NavigableMap<Long, Long> t = iova.get(state);
        if (t != null) {
            removeRange(t, offset, offset + size);
        }
    }

    synchronized void beforeDestroy(IovaState state, long mappedLen) {
        NavigableMap<Long, Long> t = track(state, "iovaDestroy");
        if (t == null) {
            return;
        }
        boolean exact = mappedLen == 0 ? t.isEmpty() : t.size() == 1 && t.firstKey() == 0 && t.firstEntry().getValue() == mappedLen;
        if (!exact) {
            report(MisuseCheck.IOVA_DESTROY_LENGTH, String.format("[iova=0x%x] [mapped_len=%d] [linked: %s] (destroy takes exactly the linked range [0, mapped_len))",
                    state.addr(), mappedLen, t));
        }
    }

    synchronized void beforeFree(IovaState state) {
        NavigableMap<Long, Long> t = track(state, "iovaFree");
        if (t != null && !t.isEmpty()) {
            report(MisuseCheck.IOVA_FREE_WITH_LINKS, String.format("[iova=0x%x] [linked: %s] (unlink them first, or use iovaDestroy)", state.addr(), t));
        }
    }

    synchronized void forgetState(IovaState state) {
        iova.remove(state);
    }

    private static boolean overlaps(NavigableMap<Long, Long> t, long from, long to) {
        Map.Entry<Long, Long> below = t.lowerEntry(to);
        return below != null && below.getValue() > from;
    }

    private static boolean covered(NavigableMap<Long, Long> t, long from, long to) {
        Map.Entry<Long, Long> e = t.floorEntry(from);
        return e != null && e.getValue() >= to; // ranges are kept merged
    }

    private static void addRange(NavigableMap<Long, Long> t, long from, long to) {
        Map.Entry<Long, Long> prev = t.floorEntry(from);
        if (prev != null && prev.getValue() >= from) {
            from = prev.getKey();
            to = Math.max(to, prev.getValue());
        }
        for (Map.Entry<Long, Long> e = t.ceilingEntry(from); e != null && e.getKey() <= to; e = t.ceilingEntry(from)) {
            to = Math.max(to, e.getValue());
            t.remove(e.getKey());
        }
        t.put(from, to);
    }

    private static void removeRange(NavigableMap<Long, Long> t, long from, long to) {
        Map.Entry<Long, Long> prev = t.lowerEntry(from);
        if (prev != null && prev.getValue() > from) {
            t.put(prev.getKey(), from);
            if (prev.getValue() > to) {
                t.put(to, prev.getValue());
            }
        }
        for (Map.Entry<Long, Long> e = t.ceilingEntry(from); e != null && e.getKey() < to; e = t.ceilingEntry(from)) {
            t.remove(e.getKey());
            if (e.getValue() > to) {
                t.put(to, e.getValue());
            }
        }
    }

    // ---------------------------------------------------------------- release

    /** Live mappings and IOVA states (for statistics and leak checks). */
    synchronized int liveMappings() {
        return liveCount + iova.size();
    }

    /** Reports anything still mapped when the device is released (the kernel's bus-notifier check). */
    synchronized void checkLeaks() {
        int n = liveMappings();
        if (n == 0) {
            return;
        }
        String example = !live.isEmpty() ? live.firstEntry().getValue().getFirst().toString()
                : "[iova state " + iova.keySet().iterator().next() + "]";
        report(MisuseCheck.LEAK_AT_RELEASE, String.format("[count=%d] [first: %s]", n, example));
    }
}
