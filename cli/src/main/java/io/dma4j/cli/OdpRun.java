package io.dma4j.cli;

import io.dma4j.consumers.mm.HmmDmaMap;
import io.dma4j.consumers.mm.ProcessMemory;
import io.dma4j.consumers.rdma.OdpMr;
import io.dma4j.consumers.rdma.RnicDriver;
import io.dma4j.devices.rnic.RnicModel;
import io.dma4j.platform.ByteSize;
import io.dma4j.platform.Machine;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.spi.Metric;
import io.dma4j.spi.Metrics;

import java.io.PrintWriter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code dmactl run odp}: a process with a region registered as an ODP memory region on the
 * RNIC; RDMA READs (peer → region) and WRITEs (region → peer) at random or sequential offsets,
 * every byte checked against a shadow copy, while a CPU thread invalidates pages at a given
 * rate (migrations, write protection for writeback, protection changes) — each one zaps the
 * NIC's entries and unlinks the pages, so the next request faults them in again.
 */
final class OdpRun {
    private static final java.util.List<Metric> METRICS = java.util.List.of(Metrics.IOVA_ALLOCS, Metrics.IOTLB_RANGE_INVALIDATIONS,
            Metrics.IOTLB_FULL_FLUSHES, Metrics.IOTLB_SYNC_MAPS, Metrics.EXPOSURES, Metrics.FAULTS);

    private OdpRun() {
    }

    /** Fault-in times, kept whole for exact percentiles. */
    private static final class Samples {
        private long[] values = new long[1024];
        private int n;

        void add(long v) {
            if (n == values.length) {
                values = Arrays.copyOf(values, n * 2);
            }
            values[n++] = v;
        }

        long[] sorted() {
            long[] s = Arrays.copyOf(values, n);
            Arrays.sort(s);
            return s;
        }
    }

    /** Runs the workload; returns the exit code (1 when a byte did not verify). */
    /** Where {@code --report} goes and the configuration it lists. */
    record Report(java.nio.file.Path file, Map<String, String> configuration) {
    }

    static int run(DmaRuntime rt, String device, long size, int requests, long min, long max, boolean random, HmmDmaMap.Design design,
                   boolean implicit, double invalidateRate, long seed, boolean json, PrintWriter out, PrintWriter err, Report report) throws java.io.IOException {
        Machine m = rt.machine();
        if (!(m.device(device).behaviour() instanceof RnicModel model)) {
            throw new UsageException("--device " + device + ": a " + m.device(device).model() + ", not an RNIC");
        }
        if (max > model.remoteMemory().byteSize() / 2 || max > size) {
            throw new UsageException("--max-size " + ByteSize.format(max) + " (expected: at most --size and half the peer's memory, "
                    + ByteSize.format(model.remoteMemory().byteSize()) + ")");
        }
        Samples faultNs = new Samples();
        try (RnicDriver nic = new RnicDriver(rt.mapper(device), m.addressSpace());
             ProcessMemory mm = new ProcessMemory(m.addressSpace(), m.pageAllocator())) {
            nic.setFaultObserver((ns, pages) -> faultNs.add(ns));
            RunSampler sampler = report == null ? null : new RunSampler(rt, device, 50);
            long va = mm.mmap(size, true, false);
            OdpMr mr = implicit ? nic.registerImplicitOdp(mm, true, design, System::nanoTime) : nic.registerOdp(mm, va, size, true, design, System::nanoTime);
            byte[] shadow = new byte[(int) size];
            MemorySegment peer = model.remoteMemory();
            long half = peer.byteSize() / 2;
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failed = new AtomicReference<>();
            int pages = (int) (size / ProcessMemory.PAGE_SIZE);
            Thread cpu = new Thread(() -> {
                SplittableRandom r = new SplittableRandom(seed ^ 0x5DEECE66DL);
                long gap = invalidateRate > 0 ? (long) (1e9 / invalidateRate) : 0;
                long next = System.nanoTime();
                try {
                    while (!stop.get() && gap > 0) {
                        long p = va + r.nextInt(pages) * ProcessMemory.PAGE_SIZE;
                        switch (r.nextInt(3)) {
                            case 0 -> mm.migrate(p);
                            case 1 -> mm.writeProtect(p, ProcessMemory.PAGE_SIZE);
                            default -> mm.mprotect(p, ProcessMemory.PAGE_SIZE, true);
                        }
                        next += gap;
                        long wait = next - System.nanoTime();
                        if (wait > 0) {
                            LockSupport.parkNanos(wait);
                        }
                    }
                } catch (Throwable t) {
                    failed.set(t);
                }
            }, "odp-invalidator");
            cpu.setDaemon(true);
            cpu.start();
            SplittableRandom rnd = new SplittableRandom(seed);
            long bad = 0;
            long bytes = 0;
            long cursor = 0;
            byte[] buf = new byte[(int) max];
            long start = System.nanoTime();
            RunReport progress = new RunReport(err, json);
            try {
                for (int i = 0; i < requests; i++) {
                    int len = (int) (min + rnd.nextLong(max - min + 1)) - rnd.nextInt(64);
                    long off = random ? rnd.nextLong(size - len + 1) : cursor;
                    cursor = (cursor + len) % (size - max);
                    if (rnd.nextBoolean()) { // the peer writes into the region: RDMA READ from the peer
                        rnd.nextBytes(buf);
                        MemorySegment.copy(MemorySegment.ofArray(buf), 0, peer, 0, len);
                        RnicDriver.Completion c = nic.rdmaRead(mr, va + off, 0, len, i);
                        if (c.ok()) {
                            System.arraycopy(buf, 0, shadow, (int) off, len);
                        } else {
                            bad++;
                        }
                    } else { // the region goes to the peer: RDMA WRITE
                        RnicDriver.Completion c = nic.rdmaWrite(mr, va + off, half, len, i);
                        if (!c.ok() || MemorySegment.mismatch(peer, half, half + len, MemorySegment.ofArray(shadow), off, off + len) != -1) {
                            bad++;
                        }
                    }
                    bytes += len;
                    if (progress.due()) {
                        progress.show(String.format(Locale.ROOT, "%,d/%,d requests, %,d faults, %,d invalidations", i + 1, requests, nic.pageFaults(), mm.invalidations()));
                    }
                }
            } finally {
                stop.set(true);
                LockSupport.unpark(cpu);
                try {
                    cpu.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            double secs = (System.nanoTime() - start) / 1e9;
            progress.clear();
            if (failed.get() != null) {
                throw new IllegalStateException("the invalidating thread failed: " + failed.get(), failed.get());
            }
            byte[] end = mm.read(va, (int) size);
            if (!Arrays.equals(end, shadow)) {
                bad++;
            }
            long[] samples = faultNs.sorted();
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("device", device);
            summary.put("backend", rt.backendFor(device).name());
            summary.put("api", design == HmmDmaMap.Design.CLASSIC ? "classic" : "two-step");
            summary.put("region", implicit ? "implicit" : "explicit");
            summary.put("regionBytes", size);
            summary.put("requests", requests);
            summary.put("verifyFailures", bad);
            summary.put("megabytesPerSecond", bytes / secs / 1e6);
            summary.put("pageFaults", nic.pageFaults());
            summary.put("pageFaultsPerSecond", nic.pageFaults() / secs);
            summary.put("faultInNsMean", samples.length == 0 ? 0.0 : (double) Arrays.stream(samples).sum() / samples.length);
            summary.put("faultInNsP99", samples.length == 0 ? 0L : samples[Math.min(samples.length - 1, (int) Math.ceil(samples.length * 0.99) - 1)]);
            Latency faultIn = new Latency();
            for (long ns : samples) {
                faultIn.record(ns);
            }
            summary.put("faultInLatency", faultIn.summary());
            summary.put("pagesFaultedIn", mr.faultedPages());
            summary.put("pagesMapped", mr.mappedPages());
            summary.put("invalidations", mm.invalidations());
            // per page mirrored: an implicit region's children each cover a whole 1 GiB window
            long mirrored = implicit ? mr.children().size() * (io.dma4j.hw.rnic.Rnic.IMPLICIT_WINDOW / ProcessMemory.PAGE_SIZE) : pages;
            summary.put("bookkeepingBytesPerPage", mirrored == 0 ? 0.0 : (double) mr.bookkeepingBytes() / mirrored);
            summary.put("implicitChildren", mr.children().size());
            summary.put("deviceFaults", m.device(device).port().faultCount());
            mr.close();
            RunReport.addFigures(summary, rt.statistics(device), METRICS);
            String heading = String.format(Locale.ROOT, "run odp: %s (backend %s), api %s, %s region, %s %s..%s requests, %.0f invalidations/s",
                    device, summary.get("backend"), summary.get("api"), ByteSize.format(size), random ? "random" : "sequential",
                    ByteSize.format(min), ByteSize.format(max), invalidateRate);
            if (sampler != null) {
                sampler.close();
                HtmlReport.write(report.file(), heading, report.configuration(), summary, Map.of("fault-in", faultIn), sampler);
            }
            RunReport.print(out, json, heading, summary);
            return bad == 0 ? 0 : 1;
        }
    }
}
