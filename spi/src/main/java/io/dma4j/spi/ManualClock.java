package io.dma4j.spi;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/**
 * A {@link DmaClock} that moves only when told: {@link #advance} runs, on the calling
 * thread and in time order, every timer that falls due. For tests of time-driven behaviour
 * (the IOMMU flush queue's timeout) without sleeping.
 *
 * <p>Thread safety: safe for concurrent use; timers run outside the clock's lock.
 */
public final class ManualClock implements DmaClock {
    private record Timer(long due, long seq, Runnable task) {
    }

    private final PriorityQueue<Timer> timers = new PriorityQueue<>((a, b) -> a.due != b.due ? Long.compare(a.due, b.due) : Long.compare(a.seq, b.seq));
    private long now;
    private long seq;

    @Override
    public synchronized long nanoTime() {
        return now;
    }

    @Override
    public synchronized void schedule(Runnable task, long delayNanos) {
        timers.add(new Timer(now + Math.max(0, delayNanos), seq++, task));
    }

    /** Timers waiting to fall due. */
    public synchronized int pendingTimers() {
        return timers.size();
    }

    /**
     * Moves time forward and runs every timer due by then (including timers those timers set).
     *
     * @throws IllegalArgumentException for a negative step
     */
    public void advance(long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("nanos: " + nanos + " (expected: >= 0; time does not go back)");
        }
        long target;
        synchronized (this) {
            target = now + nanos;
        }
        while (true) {
            List<Runnable> due = new ArrayList<>();
            synchronized (this) {
                Timer t = timers.peek();
                if (t == null || t.due > target) {
                    now = target;
                    return;
                }
                now = t.due;
                while (!timers.isEmpty() && timers.peek().due == now) {
                    due.add(timers.poll().task);
                }
            }
            for (Runnable r : due) {
                r.run();
            }
        }
    }
}
