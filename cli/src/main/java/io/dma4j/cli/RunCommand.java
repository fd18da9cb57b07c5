package io.dma4j.cli;

import io.dma4j.hw.nvme.Nvme;
import io.dma4j.consumers.nvme.NvmeDriver;
import io.dma4j.platform.ByteSize;
import io.dma4j.platform.Machine;
import io.dma4j.platform.memory.PageAllocator;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.spi.Metric;
import io.dma4j.spi.Metrics;
import io.dma4j.runtime.RuntimeConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code dmactl run nvme}: a workload on the NVMe driver and controller model — writes then
 * reads back random or sequential requests of 4 KiB up to the transfer limit, each buffer
 * made of scattered pages, verifying every byte.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Runs a workload ('nvme': writes and reads back requests through the NVMe driver; 'odp': RDMA on-demand paging on the RNIC; 'migrate': VFIO live migration of an mlx5 VF to a second one; 'dmabuf': a GPU's memory shared with the NVMe controller and the RNIC while it is revoked and restored), verifying every byte.",
                "nvme reports the requests run, IOPS, time spent mapping, bookkeeping per command and the backend's figures;",
                "odp reports page faults (count, rate, ns per fault-in mean and p99), invalidations, pages mapped, bookkeeping per page, IOVA allocations, IOTLB flushes and device faults;",
                "migrate reports precopy rounds, bytes per round, stop-copy bytes (the downtime proxy), buffers and pages registered, bookkeeping per page,",
                "IOVA allocations per buffer, IOTLB flushes and device faults, and compares the destination's state and the guest memory with the source's;",
                "dmabuf reports operations per importer, refusals while revoked, revokes, maps and re-maps, revoke-to-stop time and accesses after a revoke (must be 0)."})
final class RunCommand implements Callable<Integer> {
    /** The figures the summary shows when the device reports them. */
    private static final java.util.List<Metric> SUMMARY_METRICS = java.util.List.of(Metrics.IOVA_PEAK_RESERVED_GRANULES, Metrics.IOTLB_RANGE_INVALIDATIONS,
            Metrics.IOTLB_FULL_FLUSHES, Metrics.IOTLB_SYNC_MAPS, Metrics.EXPOSURES, Metrics.BOUNCE_MAPPINGS, Metrics.BOUNCE_SLOTS_HIGH_WATER, Metrics.FAULTS);

    @Mixin
    RuntimeOptions options;

    @Parameters(index = "0", paramLabel = "WORKLOAD", description = "The workload: nvme, odp, migrate or dmabuf.")
    String workload;

    @Option(names = "--device", description = "The NVMe controller (nvme; default nvme0), the RNIC (odp; default rnic0) or the source VF (migrate; default mlx5vf0).")
    String device;

    @Option(names = "--size", description = "odp: the ODP region's size (default 64MiB); migrate: the VF's device state (default 16MiB).")
    String size;

    @Option(names = "--destination", defaultValue = "mlx5vf1", description = "migrate: the destination VF (default: ${DEFAULT-VALUE}).")
    String destination;

    @Option(names = "--guest-size", defaultValue = "4MiB", description = "migrate: the guest memory the VF writes (a power of two, 4KiB..4MiB; default: ${DEFAULT-VALUE}).")
    String guestSize;

    @Option(names = "--dirty-rate", defaultValue = "64",
            description = "migrate: the VF's workload steps per MiB a precopy round moves (each changes 64 B of a state page and writes 64 B of guest memory; default: ${DEFAULT-VALUE}).")
    double dirtyRate;

    @Option(names = "--threshold", defaultValue = "1MiB", description = "migrate: stop copying when the dirty device state is at most this (default: ${DEFAULT-VALUE}).")
    String threshold;

    @Option(names = "--contiguous",
            description = "migrate: leave the page allocator unfragmented (buffers then get contiguous pages; by default they get scattered ones, the classic design's worst case).")
    boolean contiguous;

    @Option(names = "--max-rounds", defaultValue = "16", description = "migrate: the most precopy rounds before stop-copy (default: ${DEFAULT-VALUE}).")
    int maxRounds;

    @Option(names = "--revoke-rate", defaultValue = "100",
            description = "dmabuf: revokes (and restores) of the buffer per second by the exporter's thread (default: ${DEFAULT-VALUE}; 0 for none).")
    double revokeRate;

    @Option(names = "--revoke-mode", defaultValue = "both",
            description = "dmabuf: decode (memory decode off, then on), reset (a device reset), or both alternately (default: ${DEFAULT-VALUE}).")
    String revokeMode;

    @Option(names = "--implicit", description = "odp: register the whole address space as an implicit ODP region (children per 1 GiB window) instead of the region alone.")
    boolean implicit;

    @Option(names = "--invalidate-rate", defaultValue = "2000",
            description = "odp: page invalidations per second by the CPU thread (migrations, write protection, protection changes; default: ${DEFAULT-VALUE}; 0 for none).")
    double invalidateRate;

    @Option(names = "--requests", defaultValue = "2000", description = "Write+read pairs to run (default: ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--min-size", defaultValue = "4KiB", description = "Smallest request (default: ${DEFAULT-VALUE}).")
    String minSize;

    @Option(names = "--max-size", defaultValue = "128KiB",
            description = "Largest request, at most 64MiB (default: ${DEFAULT-VALUE}); nvme splits a request above the driver's transfer limit into several commands, as the block layer does.")
    String maxSize;

    @Option(names = "--sgl-threshold", defaultValue = "32KiB",
            description = "nvme: the driver's sgl_threshold, the average segment size from which a multi-segment request uses SGLs; 0 turns that off (default: ${DEFAULT-VALUE}).")
    String sglThreshold;

    @Option(names = "--pattern", defaultValue = "random", description = "random or sequential LBAs (default: ${DEFAULT-VALUE}).")
    String pattern;

    @Option(names = "--span", defaultValue = "64MiB",
            description = "The part of the namespace the LBAs fall in (default: ${DEFAULT-VALUE}); the model allocates namespace memory on first write, which a wider span spreads over the run.")
    String span;

    @Option(names = "--api", defaultValue = "two-step", converter = MapBenchCommand.ApiConverter.class, description = "two-step or classic (default: ${DEFAULT-VALUE}).")
    MapBench.Api api;

    @Option(names = "--seed", defaultValue = "1", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", description = "Print the summary as JSON.")
    boolean json;

    @Option(names = "--report", paramLabel = "FILE.html",
            description = "Also write one self-contained HTML report (IOVA space over time, latency histograms, swiotlb and IOTLB over time, faults, configuration).")
    java.nio.file.Path report;

    @Spec
    CommandSpec spec;

    private List<String> args() {
        return spec.root().commandLine().getParseResult().originalArgs();
    }

    /** The largest request --max-size allows. */
    private static final long MAX_REQUEST = 64L << 20;

    /**
     * One request as the block layer hands it to the driver: split into commands of at most
     * {@code limit} bytes ({@code bio_split_rw} at {@code max_sectors}; the pages here are whole
     * 4 KiB segments, so every piece keeps the PRP rules).
     *
     * @return the first non-zero status, or 0
     */
    private static int splitIo(NvmeDriver nvme, boolean write, long lba, long[] phys, long[] len, int pages, long limit) {
        int perCommand = (int) Math.max(1, limit / 4096);
        for (int first = 0; first < pages; first += perCommand) {
            int n = Math.min(perCommand, pages - first);
            long[] p = first == 0 ? phys : java.util.Arrays.copyOfRange(phys, first, first + n);
            long[] l = first == 0 ? len : java.util.Arrays.copyOfRange(len, first, first + n);
            long at = lba + (long) first * 4096 / Nvme.LBA;
            int status = write ? nvme.write(at, p, l, n) : nvme.read(at, p, l, n);
            if (status != 0) {
                return status;
            }
        }
        return 0;
    }

    private Integer migrate() throws java.io.IOException {
        String src = device == null ? "mlx5vf0" : device;
        long state = ByteSize.parse(size == null ? "16MiB" : size);
        if (state < 4096 || state % 4096 != 0 || state > (1L << 30)) {
            throw new UsageException("--size " + size + " (expected: a multiple of 4 KiB up to 1 GiB)");
        }
        long guest = ByteSize.parse(guestSize);
        if (guest < 4096 || guest > (4L << 20) || Long.bitCount(guest) != 1) {
            throw new UsageException("--guest-size " + guestSize + " (expected: a power of two from 4KiB to 4MiB)");
        }
        if (!(dirtyRate >= 0) || dirtyRate > 1e6) {
            throw new UsageException("--dirty-rate " + dirtyRate + " (expected: 0 to 1000000 steps per MiB)");
        }
        if (maxRounds < 1) {
            throw new UsageException("--max-rounds " + maxRounds + " (expected: >= 1)");
        }
        if (src.equals(destination)) {
            throw new UsageException("--destination " + destination + ": the same VF as --device (expected: a second VF)");
        }
        Map<String, String> defaults = Map.of(RuntimeConfig.DEBUG, "false", RuntimeConfig.STATS, "true");
        MigrateRun.Options o = new MigrateRun.Options(src, destination, state, guest, dirtyRate, ByteSize.parse(threshold), maxRounds,
                api == MapBench.Api.CLASSIC ? io.dma4j.consumers.vfio.Registration.CLASSIC : io.dma4j.consumers.vfio.Registration.TWO_STEP, !contiguous, seed, json,
                report, args());
        return MigrateRun.run(options.configuration(defaults), options.machine, o, spec.commandLine().getOut(), spec.commandLine().getErr());
    }

    @Override
    public Integer call() throws java.io.IOException, InterruptedException {
        if (!workload.equals("nvme") && !workload.equals("odp") && !workload.equals("migrate") && !workload.equals("dmabuf")) {
            throw new UsageException("unknown workload '" + workload + "' (expected: nvme, odp, migrate or dmabuf)");
        }
        if (workload.equals("migrate")) {
            return migrate();
        }
        if (device == null) {
            device = switch (workload) {
                case "odp" -> "rnic0";
                case "dmabuf" -> "gpu0";
                default -> "nvme0";
            };
        }
        long min = ByteSize.parse(minSize);
        long max = ByteSize.parse(maxSize);
        if (min < 4096 || max < min || min % 4096 != 0 || max % 4096 != 0) {
            throw new UsageException("--min-size/--max-size " + minSize + "/" + maxSize + " (expected: multiples of 4 KiB, min <= max)");
        }
        if (max > MAX_REQUEST) {
            throw new UsageException("--max-size " + maxSize + " (expected: at most " + ByteSize.format(MAX_REQUEST) + ")");
        }
        long sglBytes = ByteSize.parse(sglThreshold);
        if (!pattern.equals("random") && !pattern.equals("sequential")) {
            throw new UsageException("--pattern " + pattern + " (expected: random or sequential)");
        }
        if (requests < 1) {
            throw new UsageException("--requests " + requests + " (expected: >= 1)");
        }
        PrintWriter out = spec.commandLine().getOut();
        Map<String, String> defaults = Map.of(RuntimeConfig.DEBUG, "false", RuntimeConfig.STATS, "true");
        if (workload.equals("dmabuf")) {
            long buffer = ByteSize.parse(size == null ? "4MiB" : size);
            if (buffer < max || buffer % 4096 != 0 || buffer > (1L << 30)) {
                throw new UsageException("--size " + size + " (expected: a multiple of 4 KiB, at least --max-size, at most 1 GiB)");
            }
            if (!(revokeRate >= 0) || revokeRate > 100_000) {
                throw new UsageException("--revoke-rate " + revokeRate + " (expected: 0 to 100000 per second)");
            }
            if (!revokeMode.equals("decode") && !revokeMode.equals("reset") && !revokeMode.equals("both")) {
                throw new UsageException("--revoke-mode " + revokeMode + " (expected: decode, reset or both)");
            }
            try (DmaRuntime rt = options.runtime(defaults)) {
                return DmabufRun.run(rt, new DmabufRun.Options(device, buffer, requests, min, max, revokeRate, revokeMode, seed, json, report, args()),
                        spec.commandLine().getOut(), spec.commandLine().getErr());
            }
        }
        if (workload.equals("odp")) {
            long region = ByteSize.parse(size == null ? "64MiB" : size);
            if (region < (1 << 20) || region > (1L << 30) || region % 4096 != 0) {
                throw new UsageException("--size " + size + " (expected: a multiple of 4 KiB from 1 MiB to 1 GiB)");
            }
            if (invalidateRate < 0) {
                throw new UsageException("--invalidate-rate " + invalidateRate + " (expected: >= 0)");
            }
            try (DmaRuntime rt = options.runtime(defaults)) {
                return OdpRun.run(rt, device, region, requests, min, max, pattern.equals("random"),
                        api == MapBench.Api.CLASSIC ? io.dma4j.consumers.mm.HmmDmaMap.Design.CLASSIC : io.dma4j.consumers.mm.HmmDmaMap.Design.TWO_STEP,
                        implicit, invalidateRate, seed, json, spec.commandLine().getOut(), spec.commandLine().getErr(),
                        report == null ? null : new OdpRun.Report(report, HtmlReport.configurationOf(rt, args())));
            }
        }
        try (DmaRuntime rt = options.runtime(defaults)) {
            Machine m = rt.machine();
            if (!m.device(device).model().equals("nvme")) {
                StringBuilder nvmes = new StringBuilder();
                for (var d : m.devices()) {
                    if (d.model().equals("nvme")) {
                        nvmes.append(nvmes.isEmpty() ? "" : ", ").append(d.name());
                    }
                }
                throw new UsageException("--device " + device + ": a " + m.device(device).model() + ", not an NVMe controller (NVMe devices: "
                        + (nvmes.isEmpty() ? "none" : nvmes) + ")");
            }
            NvmeDriver nvme = new NvmeDriver(rt.mapper(device), m.addressSpace());
            nvme.setTwoStep(api == MapBench.Api.TWO_STEP);
            nvme.setSglThreshold(sglBytes);
            long limit = nvme.maxTransferBytes();
            int maxPages = (int) (max / 4096);
            long[] src = new long[maxPages];
            long[] dst = new long[maxPages];
            long[] len = new long[maxPages];
            for (int i = 0; i < maxPages; i++) {
                src[i] = m.pageAllocator().allocPages(0);
                dst[i] = m.pageAllocator().allocPages(0);
                m.pageAllocator().allocPages(0); // keep the pages apart: a scattered buffer
                len[i] = 4096;
            }
            SplittableRandom rnd = new SplittableRandom(seed);
            long spanBytes = ByteSize.parse(span);
            if (spanBytes < 2 * max || spanBytes > (1L << 30)) {
                throw new UsageException("--span " + span + " (expected: at least twice --max-size, at most the 1 GiB namespace)");
            }
            long lbas = spanBytes / Nvme.LBA;
            long seq = 0;
            long bytes = 0;
            long bad = 0;
            long start = System.nanoTime();
            RunReport progress = new RunReport(spec.commandLine().getErr(), json);
            Latency writes = new Latency();
            Latency reads = new Latency();
            int warmup = Math.min(100, requests / 10); // the first pairs warm up: verified, not timed into the histograms
            RunSampler sampler = report == null ? null : new RunSampler(rt, device, 50);
            try {
                for (int r = 0; r < requests; r++) {
                    int pages = (int) ((min + rnd.nextLong((max - min) / 4096 + 1) * 4096) / 4096);
                    long size = pages * 4096L;
                    long lba = pattern.equals("random") ? rnd.nextLong(lbas - size / Nvme.LBA) & ~7L : seq;
                    seq = (seq + size / Nvme.LBA) % (lbas - max / Nvme.LBA);
                    long tag = rnd.nextLong();
                    for (int i = 0; i < pages; i++) {
                        m.addressSpace().writeLong(src[i], tag + i);
                        m.addressSpace().writeLong(src[i] + 4088, ~(tag + i));
                        m.addressSpace().writeLong(dst[i], 0);
                    }
                    long t0 = System.nanoTime();
                    int ws = splitIo(nvme, true, lba, src, len, pages, limit);
                    long t1 = System.nanoTime();
                    int rs = splitIo(nvme, false, lba, dst, len, pages, limit);
                    long t2 = System.nanoTime();
                    if (r >= warmup) {
                        writes.record(t1 - t0);
                        reads.record(t2 - t1);
                    }
                    for (int i = 0; i < pages; i++) {
                        if (ws != 0 || rs != 0 || m.addressSpace().readLong(dst[i]) != tag + i || m.addressSpace().readLong(dst[i] + 4088) != ~(tag + i)) {
                            bad++;
                            break;
                        }
                    }
                    bytes += 2 * size;
                    if (progress.due()) {
                        progress.show(String.format(Locale.ROOT, "%,d/%,d request pairs", r + 1, requests));
                    }
                }
            } catch (RuntimeException e) {
                if (sampler != null) { // what the run saw until it failed is what a report is for
                    sampler.close();
                    Map<String, Object> partial = new LinkedHashMap<>();
                    partial.put("failed", e.getMessage());
                    partial.put("ioCommands", nvme.requests());
                    HtmlReport.write(report, "run nvme on " + device + " (failed)", HtmlReport.configurationOf(rt, args()), partial,
                            Map.of("write", writes, "read", reads), sampler);
                }
                throw e;
            }
            double secs = (System.nanoTime() - start) / 1e9;
            progress.clear();
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("device", device);
            summary.put("backend", rt.backendFor(device).name());
            summary.put("api", api == MapBench.Api.CLASSIC ? "classic" : "two-step");
            summary.put("requests", requests); // write+read pairs, as --requests counts them
            summary.put("ioCommands", nvme.requests()); // a request above the transfer limit is several commands
            summary.put("transferLimit", limit);
            summary.put("latencyWarmupRequests", warmup);
            summary.put("writeLatency", writes.summary()); // per request, splits included
            summary.put("readLatency", reads.summary());
            summary.put("sglThreshold", nvme.sglThreshold());
            summary.put("descriptorBytes", nvme.descriptorBytes());
            summary.put("smallPoolBytes", nvme.smallPoolBytes());
            summary.put("verifyFailures", bad);
            summary.put("iops", nvme.requests() / secs);
            summary.put("megabytesPerSecond", bytes / secs / 1e6);
            summary.put("mappingNsPerCommand", (double) nvme.mappingNanos() / nvme.requests());
            summary.put("bookkeepingBytesPerCommand", (double) nvme.bookkeepingBytes() / nvme.requests());
            RunReport.addFigures(summary, rt.statistics(device), SUMMARY_METRICS);
            String heading = String.format(Locale.ROOT, "run nvme: %s (backend %s), api %s, %s %s..%s requests", device, summary.get("backend"),
                    summary.get("api"), pattern, ByteSize.format(min), ByteSize.format(max));
            if (sampler != null) {
                sampler.close();
                HtmlReport.write(report, heading, HtmlReport.configurationOf(rt, args()), summary, Map.of("write", writes, "read", reads), sampler);
            }
            RunReport.print(out, json, heading, summary);
            return bad == 0 ? 0 : 1;
        }
    }
}
