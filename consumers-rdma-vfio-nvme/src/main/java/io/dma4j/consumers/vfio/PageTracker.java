package io.dma4j.consumers.vfio;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaDirection;
import io.dma4j.hw.mlx5vf.Mlx5Vf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The VF's dirty-page tracker over guest IOVA ranges ({@code mlx5vf_start_page_tracker},
 * {@code mlx5vf_tracker_read_and_clear}, drivers/vfio/pci/mlx5/cmd.c): the ranges merged down to
 * the device's maximum count ({@code vfio_combine_iova_ranges}: the two neighbours with the
 * smallest gap first), the page size clamped to the device's limits, a 2 MiB receive buffer
 * registered exactly like a data buffer (device to memory) and carved into 4 KiB report
 * messages, and {@link #readAndClear} that asks the device to report a range and sets a bit per
 * dirty page.
 *
 * <p>Thread safety: calls are serialised on the tracker.
 */
public final class PageTracker implements AutoCloseable {
    /** The receive buffer's size (mlx5's 2 MiB of receive WQEs). */
    public static final long RECEIVE_BUFFER = 2L << 20;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** An IOVA range. */
    public record Range(long start, long length) {
        /** The first address after the range. */
        public long end() {
            return start + length;
        }
    }

    private final Mlx5VfDriver core;
    private final DataBuffer rx;
    private final List<Range> ranges;
    private final long pageSize;
    private final int id;
    private final MemorySegment msg = Arena.ofAuto().allocate(Mlx5Vf.PAGE);
    private long reports;
    private long reportedPages;
    private boolean closed;

    private PageTracker(Mlx5VfDriver core, DataBuffer rx, List<Range> ranges, long pageSize, int id) {
        this.core = core;
        this.rx = rx;
        this.ranges = ranges;
        this.pageSize = pageSize;
        this.id = id;
    }

    /**
     * Starts tracking the VF's DMA writes into {@code ranges}.
     *
     * @param pageSize the granule asked for; the tracker clamps it to the device's limits ({@link #pageSize()})
     * @throws IllegalArgumentException for no ranges, an empty range, or a span wider than the device tracks
     * @throws VfioMigrationException when the device refuses the tracker
     */
    public static PageTracker start(Mlx5VfDriver core, List<Range> ranges, long pageSize) {
        if (ranges.isEmpty()) {
            throw new IllegalArgumentException("ranges: none (expected: at least one IOVA range)");
        }
        long caps = core.capability(Mlx5Vf.REG_CAP_TRACKER_PAGES);
        long min = 1L << (caps & 0xFF);
        long max = 1L << ((caps >> 8) & 0xFF);
        long asked = pageSize <= 1 ? 1 : Long.highestOneBit(pageSize - 1) << 1; // rounded up to a power of two
        long page = Math.max(min, Math.min(max, asked));
        List<Range> merged = combine(ranges, (int) core.capability(Mlx5Vf.REG_CAP_TRACKER_RANGES));
        List<Range> aligned = new ArrayList<>();
        for (Range r : merged) {
            long s = r.start() & -page;
            long e = (r.end() + page - 1) & -page;
            if (!aligned.isEmpty() && aligned.getLast().end() >= s) {
                Range last = aligned.removeLast();
                s = last.start();
            }
            aligned.add(new Range(s, e - s));
        }
        long span = aligned.getLast().end() - aligned.getFirst().start();
        if (span > core.capability(Mlx5Vf.REG_CAP_TRACKER_SPACE)) {
            throw new IllegalArgumentException(String.format("%s: the tracked ranges span 0x%x bytes; the device tracks at most 0x%x", core.name(), span,
                    core.capability(Mlx5Vf.REG_CAP_TRACKER_SPACE)));
        }
        DataBuffer rx = core.allocDataBuffer(MigrationStream.pagesFor(RECEIVE_BUFFER), DmaDirection.FROM_DEVICE);
        CoherentBuffer list = null;
        try {
            list = core.mapper().allocCoherent(16L * aligned.size(), 0);
            for (int i = 0; i < aligned.size(); i++) {
                list.cpu().set(LONG, 16L * i, aligned.get(i).start());
                list.cpu().set(LONG, 16L * i + 8, aligned.get(i).length());
            }
            int id = (int) core.command(Mlx5Vf.CMD_CREATE_PAGE_TRACK, rx.mkey, list.dmaAddress(), aligned.size(), Long.numberOfTrailingZeros(page), 0,
                    "CREATE_PAGE_TRACK");
            return new PageTracker(core, rx, List.copyOf(aligned), page, id);
        } catch (RuntimeException e) {
            core.freeDataBuffer(rx);
            throw e;
        } finally {
            if (list != null) {
                core.mapper().freeCoherent(list);
            }
        }
    }

    /**
     * {@code vfio_combine_iova_ranges}: sorted, overlapping ranges joined, then the two
     * neighbours with the smallest gap merged until at most {@code max} remain.
     */
    public static List<Range> combine(List<Range> ranges, int max) {
        List<Range> sorted = new ArrayList<>(ranges);
        for (Range r : sorted) {
            if (r.length() <= 0 || r.end() < r.start()) {
                throw new IllegalArgumentException(String.format("range 0x%x (+0x%x): empty or wrapping", r.start(), r.length()));
            }
        }
        sorted.sort(Comparator.comparingLong(Range::start));
        List<Range> out = new ArrayList<>();
        for (Range r : sorted) {
            if (!out.isEmpty() && out.getLast().end() >= r.start()) {
                Range last = out.removeLast();
                out.add(new Range(last.start(), Math.max(last.end(), r.end()) - last.start()));
            } else {
                out.add(r);
            }
        }
        while (out.size() > max) {
            int best = 0;
            long gap = Long.MAX_VALUE;
            for (int i = 0; i + 1 < out.size(); i++) {
                long g = out.get(i + 1).start() - out.get(i).end();
                if (g < gap) {
                    gap = g;
                    best = i;
                }
            }
            Range a = out.get(best);
            Range b = out.remove(best + 1);
            out.set(best, new Range(a.start(), b.end() - a.start()));
        }
        return out;
    }

    /** The ranges the device tracks (merged and aligned). */
    public List<Range> ranges() {
        return ranges;
    }

    /** The tracked page size. */
    public long pageSize() {
        return pageSize;
    }

    /**
     * Reports the dirty pages of {@code [iova, iova + length)} into {@code bitmap} (bit
     * <i>i</i> = the page at {@code iova + i × pageSize()}, set, never cleared) and clears them
     * on the device. Returns the pages reported.
     *
     * @throws IllegalArgumentException when the bitmap is too small for the range
     * @throws VfioMigrationException {@code EIO} when the device fails a report
     */
    public synchronized long readAndClear(long iova, long length, long[] bitmap) {
        if (closed) {
            throw new IllegalStateException(core.name() + ": the page tracker is stopped");
        }
        long bits = (length + pageSize - 1) / pageSize;
        if ((long) bitmap.length * 64 < bits) {
            throw new IllegalArgumentException(String.format("bitmap: %d words for %d pages (expected: at least %d)", bitmap.length, bits, (bits + 63) / 64));
        }
        long found = 0;
        boolean more = true;
        while (more) {
            core.command(Mlx5Vf.CMD_REPORT_PAGE_TRACK, 0, iova, length, id, 0, "REPORT_PAGE_TRACK");
            reports++;
            more = false;
            for (Mlx5VfDriver.Event e = core.nextEvent(); e != null; e = core.nextEvent()) {
                if (e.type() != Mlx5Vf.EV_TRACK_REPORT) {
                    throw new VfioMigrationException("EIO", core.name() + ": unexpected event type " + e.type() + " during a tracker report");
                }
                if (e.status() != Mlx5Vf.ST_OK) {
                    throw new VfioMigrationException("EIO", String.format("%s: tracker report failed with device status %d (%s)", core.name(), e.status(),
                            Mlx5VfDriver.statusName(e.status())));
                }
                int n = (int) e.out1();
                core.read(rx, e.out0() * Mlx5Vf.PAGE, msg, 0, 8L * n);
                for (int i = 0; i < n; i++) {
                    long bit = (msg.get(LONG, 8L * i) - iova) / pageSize;
                    bitmap[(int) (bit >>> 6)] |= 1L << (bit & 63);
                }
                found += n;
                more = e.state() == Mlx5Vf.TRACK_REPORTING;
            }
        }
        reportedPages += found;
        return found;
    }

    /** Report commands issued. */
    public synchronized long reports() {
        return reports;
    }

    /** Pages reported dirty so far. */
    public synchronized long reportedPages() {
        return reportedPages;
    }

    /** Destroys the tracker on the device and frees the receive buffer. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            core.command(Mlx5Vf.CMD_DESTROY_PAGE_TRACK, 0, 0, 0, id, 0, "DESTROY_PAGE_TRACK");
        } finally {
            core.freeDataBuffer(rx);
        }
    }
}
