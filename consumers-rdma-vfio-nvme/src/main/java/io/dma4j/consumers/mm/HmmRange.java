package io.dma4j.consumers.mm;

/**
 * The arguments of one {@link Hmm#rangeFault} ({@code struct hmm_range}): the notifier and the
 * sequence read with {@link MmuIntervalNotifier#readBegin}, the virtual range
 * {@code [start, end)}, the pfn array with the index that corresponds to {@code start}
 * (the kernel passes a pointer into the middle of the array), and the request flags:
 * per entry {@code (pfns[i] & pfnFlagsMask) | defaultFlags}, of which {@link Hmm#REQ_FAULT}
 * and {@link Hmm#REQ_WRITE} count.
 *
 * <p>Thread safety: none; one fault at a time per range object.
 */
public final class HmmRange {
    private final MmuIntervalNotifier notifier;
    private final long start;
    private final long end;
    private final long[] pfns;
    private final int pfnIndex;
    private long defaultFlags;
    private long pfnFlagsMask;
    private long notifierSeq;

    /**
     * @throws IllegalArgumentException when the range is not page aligned, empty, outside the
     *     notifier, or does not fit the array from {@code pfnIndex}
     */
    public HmmRange(MmuIntervalNotifier notifier, long start, long end, long[] pfns, int pfnIndex) {
        long page = ProcessMemory.PAGE_SIZE;
        if ((start & (page - 1)) != 0 || (end & (page - 1)) != 0 || end <= start) {
            throw new IllegalArgumentException(String.format("hmm range 0x%x-0x%x (expected: page aligned, non-empty)", start, end));
        }
        if (start < notifier.start() || end > notifier.end()) {
            throw new IllegalArgumentException(String.format("hmm range 0x%x-0x%x is outside %s", start, end, notifier));
        }
        long n = (end - start) / page;
        if (pfnIndex < 0 || pfnIndex + n > pfns.length) {
            throw new IllegalArgumentException("hmm range of " + n + " pages from index " + pfnIndex + " does not fit " + pfns.length + " pfns");
        }
        this.notifier = notifier;
        this.start = start;
        this.end = end;
        this.pfns = pfns;
        this.pfnIndex = pfnIndex;
    }

    public MmuIntervalNotifier notifier() {
        return notifier;
    }

    public long start() {
        return start;
    }

    public long end() {
        return end;
    }

    public long[] pfns() {
        return pfns;
    }

    public int pfnIndex() {
        return pfnIndex;
    }

    public long defaultFlags() {
        return defaultFlags;
    }

    public long pfnFlagsMask() {
        return pfnFlagsMask;
    }

    public long notifierSeq() {
        return notifierSeq;
    }

    /** Flags requested for every entry ({@link Hmm#REQ_FAULT}, {@link Hmm#REQ_WRITE}). */
    public HmmRange defaultFlags(long flags) {
        this.defaultFlags = flags;
        return this;
    }

    /** Which bits of each entry's input count as a per-entry request. */
    public HmmRange pfnFlagsMask(long mask) {
        this.pfnFlagsMask = mask;
        return this;
    }

    /** The sequence from {@link MmuIntervalNotifier#readBegin} this fault is valid for. */
    public HmmRange notifierSeq(long seq) {
        this.notifierSeq = seq;
        return this;
    }
}
