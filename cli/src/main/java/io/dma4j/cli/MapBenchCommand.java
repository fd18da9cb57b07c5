package io.dma4j.cli;

import io.dma4j.api.DmaDirection;
import io.dma4j.platform.ByteSize;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code dmactl map-bench}: the kernel's dma_map_benchmark, on a simulated device. */
@Command(name = "map-bench", mixinStandardHelpOptions = true,
        description = {"Measures map/unmap latency like the kernel's dma_map_benchmark: threads map and unmap their own buffer until the time is up.",
                "DMA-debug and statistics are off unless --debug or --stats is given."})
final class MapBenchCommand implements Callable<Integer> {
    @Mixin
    RuntimeOptions options;

    @Option(names = "--device", paramLabel = "NAME", defaultValue = "dmatest0", description = "Device to map for (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = {"-t", "--threads"}, defaultValue = "1", description = "Threads, 1..1024 (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = {"-s", "--seconds"}, defaultValue = "20", description = "Duration in seconds, 0.1..300 (default: ${DEFAULT-VALUE}, as the kernel's tool).")
    double seconds;

    @Option(names = {"-g", "--granule"}, defaultValue = "1", description = "Pages per mapping, 1..1024 (default: ${DEFAULT-VALUE}).")
    int granule;

    @Option(names = {"-d", "--dir"}, defaultValue = "BIDIRECTIONAL", converter = DirectionConverter.class,
            description = "Direction: BIDIRECTIONAL (0), TO_DEVICE (1) or FROM_DEVICE (2) (default: ${DEFAULT-VALUE}).")
    DmaDirection dir;

    @Option(names = "--api", defaultValue = "classic", converter = ApiConverter.class, description = "classic or two-step (default: ${DEFAULT-VALUE}).")
    MapBench.Api api;

    @Option(names = {"-b", "--dma-bits"}, description = "Streaming mask width for the run, 20..64 (the old mask is restored).")
    Integer dmaBits;

    @Option(names = {"-x", "--trans-ns"}, defaultValue = "0", description = "Busy wait between map and unmap, 0..10000000 ns (default: ${DEFAULT-VALUE}).")
    long transNs;

    @Option(names = "--buffer-above", paramLabel = "ADDRESS", defaultValue = "0",
            description = "Place the buffers at or above this physical address, e.g. 4GiB to make a 32-bit device bounce (default: lowest free memory).")
    String bufferAbove;

    @Option(names = "--warmup", paramLabel = "SECONDS",
            description = "Warm-up before the measured --seconds, 0..60 (the same work, not measured; default: a tenth of --seconds, at most 2).")
    Double warmup;

    @Option(names = "--debug", description = "Turn DMA-debug checks on for the run.")
    boolean debug;

    @Option(names = "--stats", description = "Turn statistics on and print them after the run.")
    boolean stats;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Option(names = "--report", paramLabel = "FILE.html",
            description = "Also write one self-contained HTML report (IOVA space over time, latency histograms, swiotlb and IOTLB over time, faults, configuration).")
    java.nio.file.Path report;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        check(threads >= 1 && threads <= 1024, "--threads " + threads + " (expected: 1..1024)");
        check(seconds >= 0.1 && seconds <= 300, "--seconds " + seconds + " (expected: 0.1..300)");
        check(granule >= 1 && granule <= 1024, "--granule " + granule + " (expected: 1..1024 pages)");
        check(dmaBits == null || (dmaBits >= 20 && dmaBits <= 64), "--dma-bits " + dmaBits + " (expected: 20..64)");
        check(transNs >= 0 && transNs <= 10_000_000, "--trans-ns " + transNs + " (expected: 0..10000000)");
        check(dir != DmaDirection.NONE, "--dir NONE is not a mapping direction");
        check(warmup == null || (warmup >= 0 && warmup <= 60), "--warmup " + warmup + " (expected: 0..60 seconds)");
        double warmupSeconds = warmup != null ? warmup : Math.min(2, seconds / 10);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Map<String, String> defaults = new LinkedHashMap<>();
        defaults.put(RuntimeConfig.DEBUG, Boolean.toString(debug));
        defaults.put(RuntimeConfig.STATS, Boolean.toString(stats));
        try (DmaRuntime rt = options.runtime(defaults)) {
            var mapper = rt.mapper(device);
            MapBench bench = new MapBench(rt.machine(), mapper, rt.backendFor(device).name());
            MapBench.Params p = new MapBench.Params(device, threads, seconds, granule, dir, api, transNs, dmaBits, ByteSize.parse(bufferAbove), warmupSeconds);
            java.io.Console console = System.console();
            boolean live = !json && console != null && console.isTerminal();
            RunSampler sampler = report == null ? null : new RunSampler(rt, device, 50);
            MapBench.Result r = bench.run(p, live ? (elapsed, ops) -> progress(err, elapsed, ops) : null);
            if (sampler != null) {
                sampler.close();
                Map<String, Object> summary = new LinkedHashMap<>();
                summary.put("result", r.ops() + " map+unmap pairs on " + r.device() + " (backend " + r.backend() + "), api " + r.api());
                summary.put("mapLatency", r.mapLatency());
                summary.put("unmapLatency", r.unmapLatency());
                summary.put("opsPerSecond", r.opsPerSecond());
                HtmlReport.write(report, "map-bench on " + device, HtmlReport.configurationOf(rt, spec.root().commandLine().getParseResult().originalArgs()),
                        summary, Map.of("map", bench.lastMaps(), "unmap", bench.lastUnmaps()), sampler);
            }
            if (live) {
                err.print("\r" + " ".repeat(72) + "\r");
                err.flush();
            }
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("result", r);
                if (stats) {
                    m.put("statistics", rt.statistics(device).asMap());
                }
                out.println(Json.write(m));
            } else {
                print(out, r);
                if (stats) {
                    TextTable t = new TextTable("STATISTIC", "VALUE");
                    rt.statistics(device).asMap().forEach(t::row);
                    t.print(out);
                }
            }
            out.flush();
        }
        return 0;
    }

    private void progress(PrintWriter err, double elapsed, long ops) {
        int width = 30;
        int filled = (int) Math.min(width, Math.round(width * elapsed / seconds));
        err.printf(Locale.ROOT, "\r[%s%s] %5.1f/%.1f s  %,d map+unmap", "#".repeat(filled), " ".repeat(width - filled), Math.min(elapsed, seconds), seconds, ops);
        err.flush();
    }

    private static void print(PrintWriter out, MapBench.Result r) {
        out.printf(Locale.ROOT, "map-bench: device %s (backend %s), api %s, %d thread(s), %.1f s, granule %d page(s), dir %s%n",
                r.device(), r.backend(), r.api(), r.threads(), r.seconds(), r.granulePages(), r.direction());
        if (r.fallback()) {
            out.println("  note: the backend has no IOVA space (iovaTryAlloc answered false): measured the fallback, mapPhys of the whole buffer");
        }
        out.printf(Locale.ROOT, "  average map latency   %10.1f ns   standard deviation %10.1f ns   (dma_map_benchmark's figures)%n", r.mapAvgNs(), r.mapStddevNs());
        out.printf(Locale.ROOT, "  average unmap latency %10.1f ns   standard deviation %10.1f ns%n", r.unmapAvgNs(), r.unmapStddevNs());
        TextTable t = new TextTable("  LATENCY (ns)", "P50", "P90", "P99", "P99.9", "MAX");
        latencyRow(t, "  map", r.mapLatency());
        latencyRow(t, "  unmap", r.unmapLatency());
        t.print(out);
        out.printf(Locale.ROOT, "  %,d map+unmap pairs, %,.0f pairs/s, after %.1f s of warm-up%n", r.ops(), r.opsPerSecond(), r.warmupSeconds());
    }

    static void latencyRow(TextTable t, String name, Latency.Summary s) {
        t.row(name, String.format(Locale.ROOT, "%,d", s.p50()), String.format(Locale.ROOT, "%,d", s.p90()), String.format(Locale.ROOT, "%,d", s.p99()),
                String.format(Locale.ROOT, "%,d", s.p999()), String.format(Locale.ROOT, "%,d", s.max()));
    }

    private static void check(boolean ok, String problem) {
        if (!ok) {
            throw new UsageException(problem);
        }
    }

    /** Accepts names in any case, with '-' for '_', or the kernel's numbers 0, 1, 2. */
    static final class DirectionConverter implements CommandLine.ITypeConverter<DmaDirection> {
        @Override
        public DmaDirection convert(String value) {
            String v = value.trim().toUpperCase(Locale.ROOT).replace('-', '_');
            return switch (v) {
                case "0", "BIDIRECTIONAL" -> DmaDirection.BIDIRECTIONAL;
                case "1", "TO_DEVICE" -> DmaDirection.TO_DEVICE;
                case "2", "FROM_DEVICE" -> DmaDirection.FROM_DEVICE;
                default -> throw new CommandLine.TypeConversionException("'" + value + "' is not a direction (BIDIRECTIONAL/0, TO_DEVICE/1, FROM_DEVICE/2)");
            };
        }
    }

    /** classic or two-step. */
    static final class ApiConverter implements CommandLine.ITypeConverter<MapBench.Api> {
        @Override
        public MapBench.Api convert(String value) {
            return switch (value.trim().toLowerCase(Locale.ROOT)) {
                case "classic" -> MapBench.Api.CLASSIC;
                case "two-step", "twostep", "iova" -> MapBench.Api.TWO_STEP;
                default -> throw new CommandLine.TypeConversionException("'" + value + "' is not an API (classic or two-step)");
            };
        }
    }
}
