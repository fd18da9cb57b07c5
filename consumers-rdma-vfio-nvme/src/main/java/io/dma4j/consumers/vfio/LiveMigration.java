package io.dma4j.consumers.vfio;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One live migration of a VF, as a VMM drives it: dirty tracking over the guest's memory, the
 * source into PRE_COPY and the destination into RESUMING, precopy rounds (the VF keeps running
 * between them) until the dirty bytes fall to a threshold or a round limit, then stop-copy,
 * the final dirty pages, and the destination stopped with the stream fully loaded. The guest
 * memory is migrated beside the device state: all of it first, then each round the pages the
 * tracker reported.
 *
 * <p>Both devices are left in STOP. Checking the destination's state against the source's is
 * the caller's job (it sees the device models; drivers do not).
 */
public final class LiveMigration {
    /** How to migrate. */
    public record Config(long dirtyThreshold, int maxRounds, int pipeBytes) {
        /** Validates. */
        public Config {
            if (dirtyThreshold < 0 || maxRounds < 0 || pipeBytes <= 0) {
                throw new IllegalArgumentException(String.format("dirtyThreshold %d, maxRounds %d, pipeBytes %d (expected: >= 0, >= 0, > 0)",
                        dirtyThreshold, maxRounds, pipeBytes));
            }
        }
    }

    /** The VF's work between two precopy rounds (the VF runs; round numbers start at 0). */
    @FunctionalInterface
    public interface Workload {
        /** Runs between rounds. */
        void run(int round);
    }

    /** Told after each precopy round (for progress). */
    @FunctionalInterface
    public interface Progress {
        /** Round {@code round} moved {@code bytes} of device state; {@code dirty} bytes were left. */
        void round(int round, long bytes, long dirty);
    }

    /** What a migration did. */
    public record Result(int precopyRounds, List<Long> bytesPerRound, long stopCopyBytes, long streamBytes, long guestPagesReported,
                         long guestPagesCopied, boolean guestMemoryEqual) {
    }

    private LiveMigration() {
    }

    /**
     * Migrates the VF of {@code source} (with guest memory {@code guest}, mapped for it) to the
     * VF of {@code destination} (whose guest memory is {@code destGuest}).
     *
     * @throws VfioMigrationException when a step fails (the failing device is left in ERROR)
     */
    public static Result migrate(Mlx5VfMigration source, Mlx5VfMigration destination, GuestMemory guest, GuestMemory destGuest, Workload workload,
                                 Config config, Progress progress) {
        Objects.requireNonNull(workload, "workload");
        long pageSize = 4096;
        long pages = guest.size() / pageSize;
        long[] bitmap = new long[(int) ((pages + 63) / 64)];
        MemorySegment scratch = Arena.ofAuto().allocate(Math.max(config.pipeBytes(), 4096), 4096);
        long copied = 0;
        List<Long> perRound = new ArrayList<>();
        try (PageTracker tracker = PageTracker.start(source.core(), List.of(new PageTracker.Range(guest.dma(), guest.size())), pageSize)) {
            for (long p = 0; p < pages; p++) { // the first RAM pass: everything
                guest.copyPageTo(destGuest, p, scratch);
                copied++;
            }
            SaveStream out = (SaveStream) source.setState(MigrationState.PRE_COPY);
            ResumeStream in = (ResumeStream) destination.setState(MigrationState.RESUMING);
            int round = 0;
            while (true) {
                SaveStream.PrecopyInfo info = out.precopyInfo();
                long dirty = info.initialBytes() + info.dirtyBytes();
                if (round > 0 && (dirty <= config.dirtyThreshold() || round >= config.maxRounds())) {
                    break;
                }
                MigrationRoundEvent event = new MigrationRoundEvent();
                event.begin();
                long moved = pipe(out, in, scratch);
                perRound.add(moved);
                copied += copyDirty(tracker, guest, destGuest, bitmap, scratch);
                roundDone(event, round, moved, dirty);
                if (progress != null) {
                    progress.round(round, moved, dirty);
                }
                workload.run(round);
                round++;
            }
            source.setState(MigrationState.STOP_COPY);
            MigrationRoundEvent stopCopy = new MigrationRoundEvent();
            stopCopy.begin();
            long stop = pipe(out, in, scratch);
            copied += copyDirty(tracker, guest, destGuest, bitmap, scratch); // the source's DMA is stopped: the last dirty pages
            roundDone(stopCopy, -1, stop, -1);
            long stream = out.produced();
            source.setState(MigrationState.STOP);
            destination.setState(MigrationState.STOP);
            return new Result(perRound.size(), List.copyOf(perRound), stop, stream, tracker.reportedPages(), copied, guest.contentEquals(destGuest));
        }
    }

    /** Reads what the saving stream has now and writes it to the resuming one; returns the bytes. */
    private static long pipe(SaveStream out, ResumeStream in, MemorySegment buf) {
        long total = 0;
        while (true) {
            long n = out.read(buf, 0, buf.byteSize());
            if (n <= 0) {
                return total;
            }
            in.write(buf, 0, n);
            total += n;
        }
    }

    private static void roundDone(MigrationRoundEvent event, int round, long moved, long dirty) {
        event.end();
        if (event.shouldCommit()) {
            event.round = round;
            event.bytes = moved;
            event.dirty = dirty;
            event.commit();
        }
    }

    private static long copyDirty(PageTracker tracker, GuestMemory from, GuestMemory to, long[] bitmap, MemorySegment scratch) {
        java.util.Arrays.fill(bitmap, 0);
        tracker.readAndClear(from.dma(), from.size(), bitmap);
        long n = 0;
        for (int w = 0; w < bitmap.length; w++) {
            for (long bits = bitmap[w]; bits != 0; bits &= bits - 1) {
                from.copyPageTo(to, (long) w * 64 + Long.numberOfTrailingZeros(bits), scratch);
                n++;
            }
        }
        return n;
    }
}
