package io.dma4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code dmactl ... --jfr FILE}: the recording holds the events of what the run did, counted against its own summary. */
class JfrRecordingTest {
    private record Run(int code, String out, String err) {
    }

    private static Run dmactl(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Dmactl.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(code, out.toString(), err.toString());
    }

    private static Map<String, Long> counts(List<RecordedEvent> events) {
        return events.stream().map(e -> e.getEventType().getName()).filter(n -> n.startsWith("io.dma4j."))
                .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
    }

    @Test
    void runNvmeRecordsOneMapOrIovaDestroyPerCommandAndAnIotlbFlushForEach(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("nvme.jfr");
        Run r = dmactl("run", "nvme", "--requests", "30", "--min-size", "4KiB", "--max-size", "64KiB", "-D", "dma4j.iommu.mode=strict", "--jfr", file.toString(), "--json");
        assertThat(r.code()).as(r.err()).isZero();
        long commands = new ObjectMapper().readTree(r.out()).get("ioCommands").asLong();
        List<RecordedEvent> events = RecordingFile.readAllEvents(file);
        Map<String, Long> n = counts(events);
        long maps = n.getOrDefault("io.dma4j.Map", 0L);
        long destroys = events.stream().filter(e -> e.getEventType().getName().equals("io.dma4j.IovaUnlink") && "iovaDestroy".equals(e.getString("call"))).count();
        assertThat(maps + destroys).as("each command: one mapPhys (single segment) or one IOVA range destroyed").isEqualTo(commands);
        assertThat(n.getOrDefault("io.dma4j.Unmap", 0L)).isEqualTo(maps);
        assertThat(n.getOrDefault("io.dma4j.Sync", 0L)).as("one iovaSync per IOVA range").isEqualTo(destroys);
        assertThat(n.getOrDefault("io.dma4j.IovaLink", 0L)).as("a link per segment").isGreaterThanOrEqualTo(destroys);
        long rangeFlushes = events.stream().filter(e -> e.getEventType().getName().equals("io.dma4j.IotlbFlush") && "range".equals(e.getString("kind"))).count();
        assertThat(rangeFlushes).as("strict: every unmap and destroy invalidates its range").isGreaterThanOrEqualTo(commands);
        RecordedEvent link = events.stream().filter(e -> e.getEventType().getName().equals("io.dma4j.IovaLink")).findFirst().orElseThrow();
        assertThat(link.getString("device")).isEqualTo("nvme0");
        assertThat(link.getString("backend")).isEqualTo("iommu");
        assertThat(link.getLong("size")).isPositive();
    }

    @Test
    void runOdpAndRunMigrateRecordTheirFaultsInvalidationsAndRounds(@TempDir Path dir) throws Exception {
        Path odp = dir.resolve("odp.jfr");
        Run r = dmactl("run", "odp", "--requests", "200", "--size", "2MiB", "--max-size", "64KiB", "--invalidate-rate", "5000", "--jfr", odp.toString(), "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode s = new ObjectMapper().readTree(r.out());
        Map<String, Long> n = counts(RecordingFile.readAllEvents(odp));
        assertThat(n.getOrDefault("io.dma4j.OdpPageFault", 0L)).as("one event per page fault").isEqualTo(s.get("pageFaults").asLong()).isPositive();
        assertThat(n.getOrDefault("io.dma4j.OdpInvalidation", 0L)).as("invalidations of the region's range").isPositive()
                .isLessThanOrEqualTo(s.get("invalidations").asLong());
        Path mig = dir.resolve("migrate.jfr");
        Run m = dmactl("run", "migrate", "--size", "4MiB", "--guest-size", "1MiB", "--threshold", "256KiB", "--jfr", mig.toString(), "--json");
        assertThat(m.code()).as(m.err()).isZero();
        long rounds = new ObjectMapper().readTree(m.out()).get("precopyRounds").asLong();
        assertThat(counts(RecordingFile.readAllEvents(mig)).getOrDefault("io.dma4j.MigrationRound", 0L)).as("each precopy round and the stop-copy").isEqualTo(rounds + 1);
    }

    @Test
    void aRecordingThatCannotBeWrittenIsAUsageError(@TempDir Path dir) {
        Run r = dmactl("machine", "--jfr", dir.resolve("no/such/dir/x.jfr").toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("dmactl: --jfr " + dir.resolve("no/such/dir/x.jfr") + ": no directory " + dir.resolve("no/such/dir") + " to write the recording in\n");
    }
}
