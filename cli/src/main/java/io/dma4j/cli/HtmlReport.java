package io.dma4j.cli;

import io.dma4j.platform.ReservedRegion;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code --report FILE.html}: one self-contained HTML page (inline SVG and CSS, no scripts, no
 * network) of a run: its configuration and summary, the IOVA space of the device's domain over
 * time, a latency histogram per operation, swiotlb occupancy and high water over time, IOTLB
 * hits, misses and flushes over time, and the faults by device and reason. Sections carry ids
 * ({@code configuration}, {@code iova}, {@code latency}, {@code swiotlb}, {@code iotlb},
 * {@code faults}) for tools that read the file.
 */
final class HtmlReport {
    private static final int IOVA_ROWS = 96;

    private HtmlReport() {
    }

    /**
     * Writes the report.
     *
     * @param title         the run, in words
     * @param configuration the configuration entries and options that shaped the run
     * @param summary       the run's summary figures
     * @param latencies     operation name to its recorded latencies
     * @param sampler       what was watched during the run (closed)
     */
    static void write(Path file, String title, Map<String, String> configuration, Map<String, Object> summary, Map<String, Latency> latencies,
                      RunSampler sampler) throws IOException {
        Document doc = Document.createShell("");
        doc.title("dma4j report: " + title);
        doc.head().appendElement("meta").attr("charset", "utf-8");
        doc.head().appendElement("style").appendText("""
                body{font-family:sans-serif;margin:2em;max-width:820px;color:#222}h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
                table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}
                svg{border:1px solid #ddd;background:#fcfcfc}.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}""");
        Element body = doc.body();
        body.appendElement("h1").text("dma4j report: " + title);
        configuration(body, configuration, summary);
        iova(body, sampler);
        latency(body, latencies);
        List<RunSampler.Sample> samples = sampler.samples();
        double[] t = new double[samples.size()];
        for (int i = 0; i < t.length; i++) {
            t[i] = samples.get(i).t();
        }
        Element swiotlb = section(body, "swiotlb", "swiotlb pool: slots in use and high water over time");
        SvgChart.lines(swiotlb, "swiotlb-chart", "bounce slots over time", t, List.of("slots used", "high water"),
                List.of(series(samples, "bounce.slots.used"), series(samples, "bounce.slots.highWater")), "slots");
        note(swiotlb, samples, "bounce.slots.total", "the device's backend bounced nothing (no swiotlb figures)");
        Element iotlb = section(body, "iotlb", "IOTLB: hits, misses and invalidations over time (cumulative)");
        SvgChart.lines(iotlb, "iotlb-chart", "IOTLB counters over time", t, List.of("hits", "misses", "range invalidations", "full flushes"),
                List.of(series(samples, "backend.iotlb.hits"), series(samples, "backend.iotlb.misses"), series(samples, "backend.iotlb.rangeInvalidations"),
                        series(samples, "backend.iotlb.fullFlushes")), "events");
        note(iotlb, samples, "backend.iotlb.entries", "the device's translation has no IOTLB (no IOMMU)");
        faults(body, sampler, t.length == 0 ? 0 : t[t.length - 1]);
        Files.writeString(file, "<!DOCTYPE html>\n" + doc.html(), StandardCharsets.UTF_8);
    }

    /** The configuration a report lists: the command line, the machine, and every configuration entry in effect. */
    static Map<String, String> configurationOf(io.dma4j.runtime.DmaRuntime rt, List<String> args) {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("command", "dmactl " + String.join(" ", args));
        out.put("machine", rt.machine().name() + " (" + rt.machine().description().source() + ")");
        out.putAll(new TreeMap<>(rt.config().values()));
        return out;
    }

    private static Element section(Element body, String id, String heading) {
        Element s = body.appendElement("section").attr("id", id);
        s.appendElement("h2").text(heading);
        return s;
    }

    private static void note(Element section, List<RunSampler.Sample> samples, String key, String text) {
        if (samples.isEmpty() || !samples.getLast().stats().containsKey(key)) {
            section.appendElement("p").attr("class", "note").text(text);
        }
    }

    private static double[] series(List<RunSampler.Sample> samples, String key) {
        double[] out = new double[samples.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = samples.get(i).stats().getOrDefault(key, 0L);
        }
        return out;
    }

    private static void configuration(Element body, Map<String, String> configuration, Map<String, Object> summary) {
        Element s = section(body, "configuration", "Run and configuration");
        Element table = s.appendElement("table").attr("class", "configuration");
        table.appendElement("tr").appendElement("th").text("setting").parent().appendElement("th").text("value");
        configuration.forEach((k, v) -> table.appendElement("tr").appendElement("td").text(k).parent().appendElement("td").text(v));
        s.appendElement("h2").text("Summary");
        Element sum = s.appendElement("table").attr("class", "summary");
        summary.forEach((k, v) -> sum.appendElement("tr").appendElement("td").text(k).parent().appendElement("td").text(switch (v) {
            case Double d -> String.format(Locale.ROOT, "%.1f", d);
            case Latency.Summary l -> l.describe();
            default -> String.valueOf(v);
        }));
    }

    /**
     * Time runs left to right (one column per sample), addresses bottom to top over the span
     * the run used (every allocated range seen, and the reserved regions inside that span);
     * a cell is allocated, reserved or a hole.
     */
    private static void iova(Element body, RunSampler sampler) {
        Element s = section(body, "iova", "IOVA space of " + sampler.device() + "'s domain over time");
        List<RunSampler.Sample> samples = sampler.samples();
        long lo = Long.MAX_VALUE;
        long hi = Long.MIN_VALUE;
        for (RunSampler.Sample x : samples) {
            for (int i = 0; i < x.iova().length; i += 2) {
                lo = Math.min(lo, x.iova()[i]);
                hi = Math.max(hi, x.iova()[i + 1]);
            }
        }
        if (lo > hi) {
            s.appendElement("p").attr("class", "note").text("no IOVA was allocated: " + sampler.translation().describe());
            return;
        }
        long span = Math.max(1, hi - lo + 1);
        int cols = samples.size();
        Element svg = SvgChart.svg(s, "iova-map", "IOVA ranges over time", SvgChart.HEIGHT + 20);
        double plotW = SvgChart.WIDTH - SvgChart.LEFT - 10;
        double plotH = SvgChart.HEIGHT + 20 - SvgChart.BOTTOM - 10;
        double cw = plotW / cols;
        double rh = plotH / IOVA_ROWS;
        SvgChart.axes(svg, SvgChart.HEIGHT + 20, String.format(Locale.ROOT, "%.2f s", samples.getLast().t()), "IOVA");
        SvgChart.text(svg, SvgChart.LEFT - 4, 22, String.format("0x%x", hi), "end");
        SvgChart.text(svg, SvgChart.LEFT - 4, 10 + plotH, String.format("0x%x", lo), "end");
        List<ReservedRegion> reserved = sampler.reserved();
        for (int c = 0; c < cols; c++) {
            long[] r = samples.get(c).iova();
            for (int row = 0; row < IOVA_ROWS; row++) {
                long a = lo + (long) ((double) span * row / IOVA_ROWS);
                long b = lo + (long) ((double) span * (row + 1) / IOVA_ROWS) - 1;
                String kind = reservedIn(reserved, a, b) ? "reserved" : allocatedIn(r, a, b) ? "allocated" : null;
                if (kind != null) {
                    SvgChart.rect(svg, SvgChart.LEFT + c * cw, 10 + plotH - (row + 1) * rh, cw, rh, kind.equals("reserved") ? "#999" : SvgChart.COLOURS[0], null)
                            .attr("class", kind);
                }
            }
        }
        Element legend = s.appendElement("p").attr("class", "legend");
        legend.appendElement("span").attr("style", "background:" + SvgChart.COLOURS[0]);
        legend.appendText("allocated");
        legend.appendElement("span").attr("style", "background:#999");
        legend.appendText("reserved");
        legend.appendElement("span").attr("style", "background:#fcfcfc;border:1px solid #ccc");
        legend.appendText(String.format("hole (span 0x%x-0x%x, %d rows of %s each)", lo, hi, IOVA_ROWS, io.dma4j.platform.ByteSize.format(span / IOVA_ROWS)));
    }

    private static boolean allocatedIn(long[] ranges, long a, long b) {
        for (int i = 0; i < ranges.length; i += 2) {
            if (ranges[i] <= b && a <= ranges[i + 1]) {
                return true;
            }
        }
        return false;
    }

    private static boolean reservedIn(List<ReservedRegion> reserved, long a, long b) {
        for (ReservedRegion r : reserved) {
            if (r.reservedInDmaDomain() && r.start() <= b && a <= r.end()) {
                return true;
            }
        }
        return false;
    }

    private static void latency(Element body, Map<String, Latency> latencies) {
        Element s = section(body, "latency", "Latency per operation");
        if (latencies.isEmpty()) {
            s.appendElement("p").attr("class", "note").text("this workload records no per-operation latency");
            return;
        }
        Element table = s.appendElement("table").attr("class", "percentiles");
        Element head = table.appendElement("tr");
        for (String h : new String[] {"operation", "count", "mean ns", "p50", "p90", "p99", "p99.9", "max"}) {
            head.appendElement("th").text(h);
        }
        for (Map.Entry<String, Latency> e : latencies.entrySet()) {
            Latency.Summary l = e.getValue().summary();
            Element row = table.appendElement("tr");
            for (String v : new String[] {e.getKey(), Long.toString(l.count()), String.format(Locale.ROOT, "%.1f", l.mean()), Long.toString(l.p50()),
                    Long.toString(l.p90()), Long.toString(l.p99()), Long.toString(l.p999()), Long.toString(l.max())}) {
                row.appendElement("td").text(v);
            }
        }
        for (Map.Entry<String, Latency> e : latencies.entrySet()) {
            List<String> labels = new ArrayList<>();
            List<long[]> buckets = e.getValue().logBuckets();
            long[] counts = new long[buckets.size()];
            for (int i = 0; i < counts.length; i++) {
                labels.add("≤" + Latency.nanos(buckets.get(i)[0] + 1));
                counts[i] = buckets.get(i)[1];
            }
            s.appendElement("h3").text(e.getKey() + " (ns, power-of-two buckets)");
            SvgChart.bars(s, "latency-histogram", e.getKey() + " latency histogram", labels, counts);
        }
    }

    private static void faults(Element body, RunSampler sampler, double end) {
        Element s = section(body, "faults", "Device faults by device and reason");
        List<RunSampler.TimedFault> faults = sampler.faults();
        if (faults.isEmpty()) {
            s.appendElement("p").attr("class", "note").text("no device access faulted");
            return;
        }
        Map<String, Integer> lanes = new LinkedHashMap<>();
        Map<String, Map<String, Integer>> counts = new TreeMap<>();
        for (RunSampler.TimedFault f : faults) {
            lanes.putIfAbsent(f.fault().device(), lanes.size());
            counts.computeIfAbsent(f.fault().device(), k -> new TreeMap<>()).merge(f.fault().reason().name(), 1, Integer::sum);
        }
        int height = 40 + 24 * lanes.size() + SvgChart.BOTTOM;
        Element svg = SvgChart.svg(s, "fault-timeline", "faults over time", height);
        SvgChart.axes(svg, height, String.format(Locale.ROOT, "%.2f s", end), "device");
        double plotW = SvgChart.WIDTH - SvgChart.LEFT - 10;
        for (Map.Entry<String, Integer> lane : lanes.entrySet()) {
            SvgChart.text(svg, SvgChart.LEFT - 4, 34 + 24 * lane.getValue(), lane.getKey(), "end");
        }
        for (RunSampler.TimedFault f : faults) {
            double x = SvgChart.LEFT + plotW * f.t() / Math.max(end, 1e-9);
            double y = 30 + 24 * lanes.get(f.fault().device());
            Element c = svg.appendElement("circle").attr("cx", String.format(Locale.ROOT, "%.1f", x)).attr("cy", String.format(Locale.ROOT, "%.1f", y)).attr("r", "4")
                    .attr("fill", SvgChart.COLOURS[1 + f.fault().reason().ordinal() % (SvgChart.COLOURS.length - 1)]).attr("class", "fault")
                    .attr("data-reason", f.fault().reason().name());
            c.appendElement("title").text(f.fault().toString());
        }
        Element table = s.appendElement("table").attr("class", "fault-counts");
        table.appendElement("tr").appendElement("th").text("device").parent().appendElement("th").text("reason").parent().appendElement("th").text("faults");
        counts.forEach((dev, byReason) -> byReason.forEach((reason, n) ->
                table.appendElement("tr").appendElement("td").text(dev).parent().appendElement("td").text(reason).parent().appendElement("td").text(Integer.toString(n))));
    }
}
