package io.dma4j.spi;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Time as providers see it: a monotonic nanosecond reading and one-shot timers (the flush
 * queue's timeout, cache trimming periods). The runtime hands every provider the clock it
 * was built with ({@link #SYSTEM} unless a program sets another), so tests advance a
 * {@link ManualClock} instead of sleeping.
 *
 * <p>Thread safety: implementations must be safe for concurrent use.
 */
public interface DmaClock {
    /** The machine's clock: {@link System#nanoTime()} and a shared daemon timer thread. */
    DmaClock SYSTEM = new DmaClock() {
        private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "dma4j-timer");
            t.setDaemon(true);
            return t;
        });

        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public void schedule(Runnable task, long delayNanos) {
            TIMER.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
        }

        @Override
        public String toString() {
            return "system clock";
        }
    };

    /** Now, in nanoseconds from an arbitrary origin; never goes back. */
    long nanoTime();

    /** Runs {@code task} once, on some thread, when {@code delayNanos} of this clock's time have passed. */
    void schedule(Runnable task, long delayNanos);
}
