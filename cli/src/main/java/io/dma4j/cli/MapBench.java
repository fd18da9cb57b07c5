package io.dma4j.cli;

import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.IovaState;
import io.dma4j.platform.Machine;
import io.dma4j.platform.memory.PageAllocator;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * The Java counterpart of the kernel's {@code dma_map_benchmark}: N threads, each with its
 * own buffer of {@code granule} pages, map and unmap it through a warm-up phase (not
 * measured), then until the time is up, timing each call; results are the mean and
 * population standard deviation of map and unmap latency (the kernel tool's figures) and
 * their distribution from an HdrHistogram (p50, p90, p99, p99.9, max).
 * Like the kernel's, a buffer the device may read is dirtied with a memset before each map
 * (outside the timed region), and an optional busy wait stands for the transfer.
 *
 * <p>Differences from the kernel tool: latencies are kept in nanoseconds, not truncated to
 * 100 ns units; the "two-step" API maps with iovaTryAlloc + one iovaLink per page + one
 * iovaSync and unmaps with iovaDestroy (when the backend has no IOVA space it falls back
 * to mapPhys of the whole buffer and says so).
 *
 * <p>Thread safety: one run at a time per instance.
 */
final class MapBench {
    /** Which API a run measures. */
    enum Api {
        CLASSIC, TWO_STEP
    }

    /** What to run. */
    record Params(String device, int threads, double seconds, int granule, DmaDirection dir, Api api, long transNs, Integer dmaBits,
                  long bufferAbove, double warmupSeconds) {
    }

    /**
     * One run's figures (latencies in ns).
     *
     * @param fallback the two-step API was asked for but the backend has no IOVA space
     * @param mapLatency   the map calls' distribution (ns) after the warm-up
     * @param unmapLatency the unmap calls' distribution (ns) after the warm-up
     */
    record Result(String device, String backend, String api, int threads, double seconds, int granulePages, String direction,
                  long ops, double mapAvgNs, double mapStddevNs, double unmapAvgNs, double unmapStddevNs, double opsPerSecond,
                  boolean fallback, double warmupSeconds, Latency.Summary mapLatency, Latency.Summary unmapLatency) {
    }

    private final Machine machine;
    private final DmaMapper mapper;
    private final String backend;
    private Latency lastMaps = new Latency();
    private Latency lastUnmaps = new Latency();

    MapBench(Machine machine, DmaMapper mapper, String backend) {
        this.machine = machine;
        this.mapper = mapper;
        this.backend = backend;
    }

    /** Progress seen from another thread: operations completed so far by all workers. */
    interface Progress {
        void update(double elapsedSeconds, long ops);
    }

    Result run(Params p, Progress progress) throws InterruptedException {
        long oldMask = mapper.getMask();
        if (p.dmaBits() != null) {
            mapper.setMask(p.dmaBits() == 64 ? -1L : (1L << p.dmaBits()) - 1);
        }
        try {
            long begin = System.nanoTime();
            long start = begin + (long) (p.warmupSeconds() * 1e9); // measuring starts after the warm-up
            long deadline = start + (long) (p.seconds() * 1e9);
            List<Worker> workers = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < p.threads(); i++) {
                Worker w = new Worker(p, start, deadline);
                workers.add(w);
                Thread t = Thread.ofPlatform().name("map-bench-" + i).start(w);
                threads.add(t);
            }
            LongSupplier done = () -> {
                long n = 0;
                for (Worker w : workers) {
                    n += w.published;
                }
                return n;
            };
            while (!allDone(threads)) {
                if (progress != null) {
                    progress.update(Math.max(0, System.nanoTime() - start) / 1e9, done.getAsLong());
                }
                threads.getFirst().join(200);
            }
            for (Thread t : threads) {
                t.join();
            }
            double elapsed = Math.max(1e-9, (System.nanoTime() - start) / 1e9);
            long n = 0;
            double ms = 0;
            double mq = 0;
            double us = 0;
            double uq = 0;
            boolean fallback = false;
            Latency maps = new Latency();
            Latency unmaps = new Latency();
            for (Worker w : workers) {
                if (w.failure != null) {
                    throw w.failure;
                }
                maps.add(w.maps);
                unmaps.add(w.unmaps);
                n += w.n;
                ms += w.mapSum;
                mq += w.mapSq;
                us += w.unmapSum;
                uq += w.unmapSq;
                fallback |= w.fallback;
            }
            if (progress != null) {
                progress.update(elapsed, n);
            }
            lastMaps = maps;
            lastUnmaps = unmaps;
            double mapAvg = n == 0 ? 0 : ms / n;
            double unmapAvg = n == 0 ? 0 : us / n;
            return new Result(p.device(), backend, p.api() == Api.CLASSIC ? "classic" : "two-step", p.threads(), p.seconds(), p.granule(),
                    p.dir().name(), n, mapAvg, stddev(mq, n, mapAvg), unmapAvg, stddev(uq, n, unmapAvg), n / elapsed, fallback,
                    p.warmupSeconds(), maps.summary(), unmaps.summary());
        } finally {
            if (p.dmaBits() != null) {
                mapper.setMask(oldMask);
            }
        }
    }

    /** The last run's map latencies, all threads merged. */
    Latency lastMaps() {
        return lastMaps;
    }

    /** The last run's unmap latencies, all threads merged. */
    Latency lastUnmaps() {
        return lastUnmaps;
    }

    private static boolean allDone(List<Thread> threads) {
        for (Thread t : threads) {
            if (t.isAlive()) {
                return false;
            }
        }
        return true;
    }

    private static double stddev(double sumSq, long n, double mean) {
        return n == 0 ? 0 : Math.sqrt(Math.max(0, sumSq / n - mean * mean));
    }

    /** One benchmark thread; its loop allocates nothing. */
    private final class Worker implements Runnable {
        private final Params p;
        private final long start;
        private final long deadline;
        private final IovaState state = new IovaState();
        final Latency maps = new Latency();
        final Latency unmaps = new Latency();
        long n;
        double mapSum;
        double mapSq;
        double unmapSum;
        double unmapSq;
        boolean fallback;
        volatile long published;
        RuntimeException failure;

        Worker(Params p, long start, long deadline) {
            this.p = p;
            this.start = start;
            this.deadline = deadline;
        }

        @Override
        public void run() {
            long size = (long) p.granule() * PageAllocator.PAGE_SIZE;
            long buf;
            try {
                buf = machine.pageAllocator().allocPages(PageAllocator.orderFor(size), p.bufferAbove(), Long.MAX_VALUE);
            } catch (RuntimeException e) {
                // a worker that cannot start fails the whole run (never a 0-pair "result")
                failure = new IllegalArgumentException(String.format("--buffer-above 0x%x: no free %d KiB buffer at or above it (%s)",
                        p.bufferAbove(), size >> 10, e.getMessage()), e);
                return;
            }
            try {
                loop(buf, size);
            } catch (RuntimeException e) {
                failure = e;
            } finally {
                machine.pageAllocator().freePages(buf);
            }
        }

        private void loop(long buf, long size) {
            DmaDirection dir = p.dir();
            boolean dirty = dir != DmaDirection.FROM_DEVICE;
            boolean twoStep = p.api() == Api.TWO_STEP;
            long pages = p.granule();
            while (System.nanoTime() < deadline) {
                if (dirty) {
                    machine.addressSpace().fill(buf, size, (byte) 0x66);
                }
                long t0 = System.nanoTime();
                long dma = 0;
                boolean iova = false;
                if (twoStep) {
                    iova = mapper.iovaTryAlloc(state, buf, size);
                    if (iova) {
                        for (long i = 0; i < pages; i++) {
                            mapper.iovaLink(state, buf + i * PageAllocator.PAGE_SIZE, i * PageAllocator.PAGE_SIZE, PageAllocator.PAGE_SIZE, dir, DmaAttrs.NONE);
                        }
                        mapper.iovaSync(state, 0, size);
                    } else {
                        fallback = true;
                        dma = mapper.mapPhys(buf, size, dir, DmaAttrs.NONE);
                    }
                } else {
                    dma = mapper.mapPhys(buf, size, dir, DmaAttrs.NONE);
                }
                long t1 = System.nanoTime();
                if (p.transNs() > 0) {
                    long until = t1 + p.transNs();
                    while (System.nanoTime() < until) {
                        Thread.onSpinWait();
                    }
                }
                long t2 = System.nanoTime();
                if (iova) {
                    mapper.iovaDestroy(state, size, dir, DmaAttrs.NONE);
                } else {
                    mapper.unmapPhys(dma, size, dir, DmaAttrs.NONE);
                }
                long t3 = System.nanoTime();
                if (t0 < start) {
                    continue; // warming up: the same work, not measured
                }
                maps.record(t1 - t0);
                unmaps.record(t3 - t2);
                double map = t1 - t0;
                double unmap = t3 - t2;
                mapSum += map;
                mapSq += map * map;
                unmapSum += unmap;
                unmapSq += unmap * unmap;
                n++;
                if ((n & 1023) == 0) {
                    published = n;
                }
            }
            published = n;
        }
    }
}
