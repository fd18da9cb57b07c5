package io.dma4j.cli;

import io.dma4j.platform.ReservedRegion;
import io.dma4j.platform.device.DmaTranslation;
import io.dma4j.platform.device.Fault;
import io.dma4j.runtime.DmaRuntime;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What {@code --report} watches while a run goes: every {@code intervalMs} (and at the start
 * and the end) one device's statistics and its domain's allocated IOVA ranges, and the
 * faults the machine logged since the last look, with the time each was seen. Long runs keep
 * at most {@value #MAX_SAMPLES} samples (every other one is dropped when full).
 *
 * <p>Thread safety: a daemon thread samples; the run's thread starts and closes it.
 */
final class RunSampler implements AutoCloseable {
    static final int MAX_SAMPLES = 240;

    /** One look at the device, {@code t} seconds after the start. */
    record Sample(double t, Map<String, Long> stats, long[] iova) {
    }

    /** A fault and the time it was first seen. */
    record TimedFault(double t, Fault fault) {
    }

    private final DmaRuntime rt;
    private final String device;
    private final long start = System.nanoTime();
    private final List<Sample> samples = new ArrayList<>();
    private final List<TimedFault> faults = new ArrayList<>();
    private final Thread thread;
    private long lastFault = -1;
    private volatile boolean stop;

    /** Starts sampling {@code device} (whose mapper must exist) every {@code intervalMs}. */
    RunSampler(DmaRuntime rt, String device, long intervalMs) {
        this.rt = rt;
        this.device = device;
        rt.mapper(device); // attaches the backend's translation
        sample();
        this.thread = Thread.ofPlatform().daemon().name("report-sampler").start(() -> {
            while (!stop) {
                try {
                    Thread.sleep(intervalMs);
                    sample();
                } catch (InterruptedException | RuntimeException e) {
                    return; // closed, or the run failed and its runtime is gone: nothing more to watch
                }
            }
        });
    }

    private synchronized void sample() {
        double t = (System.nanoTime() - start) / 1e9;
        if (samples.size() == MAX_SAMPLES) {
            for (int i = samples.size() - 1; i > 0; i -= 2) {
                samples.remove(i);
            }
        }
        samples.add(new Sample(t, rt.statistics(device).asMap(), translation().allocatedIovaRanges()));
        for (Fault f : rt.machine().faultLog().recent()) {
            if (f.sequence() > lastFault) {
                faults.add(new TimedFault(t, f));
                lastFault = f.sequence();
            }
        }
    }

    /** Stops the thread and takes the last sample (the runtime must still be open). */
    @Override
    public void close() {
        stop = true;
        thread.interrupt();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sample();
    }

    String device() {
        return device;
    }

    DmaTranslation translation() {
        return rt.machine().device(device).port().translation();
    }

    List<ReservedRegion> reserved() {
        return translation().reservedRegions();
    }

    synchronized List<Sample> samples() {
        return List.copyOf(samples);
    }

    synchronized List<TimedFault> faults() {
        return List.copyOf(faults);
    }
}
