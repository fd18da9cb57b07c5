package io.dma4j.cli;

import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code --report FILE.html}: the file parses, is self-contained, and every section holds the run's data. */
class HtmlReportTest {
    private static int dmactl(String... args) {
        return Dmactl.run(new PrintWriter(new StringWriter(), true), new PrintWriter(new StringWriter(), true), args);
    }

    private static Document parse(Path file) throws Exception {
        Document doc = Jsoup.parse(file.toFile(), StandardCharsets.UTF_8.name());
        assertThat(doc.select("script")).as("no scripts").isEmpty();
        assertThat(doc.select("[src], link[href]")).as("nothing loaded from elsewhere").isEmpty();
        for (String id : new String[] {"configuration", "iova", "latency", "swiotlb", "iotlb", "faults"}) {
            assertThat(doc.getElementById(id)).as("section #%s", id).isNotNull();
        }
        return doc;
    }

    /** Whether a polyline's points leave the chart's baseline (y 190.0) anywhere: the series is not all zeros. */
    private static boolean rises(Element polyline) {
        for (String p : polyline.attr("points").split(" ")) {
            if (!p.endsWith(",190.0")) {
                return true;
            }
        }
        return false;
    }

    private static long barTotal(Element svg) {
        long n = 0;
        for (Element title : svg.select("rect.bar > title")) {
            n += Long.parseLong(title.text().substring(title.text().lastIndexOf(' ') + 1));
        }
        return n;
    }

    @Test
    void runNvmeReportsItsIovaSpaceLatenciesAndIotlb(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("nvme.html");
        assertThat(dmactl("run", "nvme", "--requests", "300", "-D", "dma4j.iommu.mode=strict", "--report", file.toString())).isZero();
        Document doc = parse(file);
        assertThat(doc.title()).startsWith("dma4j report: run nvme: nvme0 (backend iommu)");
        assertThat(doc.select("#configuration table.configuration td").eachText()).contains("command", "dma4j.iommu.mode", "strict");
        assertThat(doc.select("#iova svg.iova-map rect.allocated")).as("IOVA ranges drawn").isNotEmpty();
        assertThat(doc.select("#iova svg.iova-map rect.reserved")).as("the reserved regions lie outside the span the run used").isEmpty();
        assertThat(doc.select("#latency table.percentiles tr").eachText()).anyMatch(r -> r.startsWith("write 270 ")).anyMatch(r -> r.startsWith("read 270 "));
        assertThat(doc.select("#latency svg.latency-histogram")).hasSize(2).allSatisfy(svg -> assertThat(barTotal(svg)).as("every timed request in a bucket").isEqualTo(270));
        Element ranges = doc.selectFirst("#iotlb polyline[data-series=range invalidations]");
        assertThat(rises(ranges)).as("strict mode invalidates at every unmap").isTrue();
        assertThat(doc.select("#faults p.note").text()).isEqualTo("no device access faulted");
    }

    @Test
    void mapBenchOnABouncedDeviceReportsThePoolOverTime(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("bench.html");
        assertThat(dmactl("map-bench", "--device", "legacy32", "--buffer-above", "4GiB", "--seconds", "0.3", "--report", file.toString())).isZero();
        Document doc = parse(file);
        assertThat(rises(doc.selectFirst("#swiotlb polyline[data-series=high water]"))).as("the bounce pool's high water").isTrue();
        assertThat(doc.select("#iova p.note").text()).startsWith("no IOVA was allocated: direct");
        assertThat(doc.select("#latency svg.latency-histogram")).hasSize(2);
        assertThat(doc.select("#iotlb p.note").text()).isEqualTo("the device's translation has no IOTLB (no IOMMU)");
    }

    @Test
    void aRunThatFailsStillReportsWhatItSawIncludingTheFaults(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("failed.html");
        assertThat(dmactl("run", "nvme", "--requests", "50", "-D", "dma4j.fail.dma_transfer.probability=1", "--report", file.toString())).isEqualTo(1);
        Document doc = parse(file);
        assertThat(doc.title()).isEqualTo("dma4j report: run nvme on nvme0 (failed)");
        assertThat(doc.select("#configuration table.summary td").eachText()).contains("failed");
        assertThat(doc.select("#faults circle.fault")).isNotEmpty().allSatisfy(c -> assertThat(c.attr("data-reason")).isEqualTo("INJECTED"));
        assertThat(doc.select("#faults table.fault-counts tr").eachText()).anyMatch(r -> r.startsWith("nvme0 INJECTED "));
    }

    @Test
    void runMigrateWritesAReportToo(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("migrate.html");
        assertThat(dmactl("run", "migrate", "--size", "4MiB", "--guest-size", "1MiB", "--report", file.toString())).isZero();
        Document doc = parse(file);
        assertThat(doc.title()).startsWith("dma4j report: run migrate: mlx5vf0 -> mlx5vf1");
        assertThat(doc.select("#configuration table.summary td").eachText()).contains("precopyRounds", "stateEqual", "true");
        assertThat(doc.select("#latency p.note").text()).isEqualTo("this workload records no per-operation latency");
    }
}
