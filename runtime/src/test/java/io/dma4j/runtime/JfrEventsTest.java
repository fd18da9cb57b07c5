package io.dma4j.runtime;

import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.Machine;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** The JFR layer: one event per mapping call, with the device, backend, addresses, size and direction. */
class JfrEventsTest {
    private static final List<String> EVENTS = List.of("io.dma4j.Map", "io.dma4j.Unmap", "io.dma4j.IovaLink", "io.dma4j.IovaUnlink", "io.dma4j.Sync");

    @Test
    void aRecordingSeesEveryMappingCallWithItsFields(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("run.jfr");
        try (Machine machine = Machine.createDefault();
             DmaRuntime rt = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(Map.of(RuntimeConfig.JFR, "true"))).build();
             Recording recording = new Recording()) {
            for (String e : EVENTS) {
                recording.enable(e).withoutThreshold();
            }
            recording.start();
            DmaMapper m = rt.mapper("dmatest0"); // dma-direct: the two-step calls' events are tested with the IOMMU provider
            long page = machine.pageAllocator().allocPages(1);
            long dma = m.mapPhys(page, 4096, DmaDirection.TO_DEVICE, 0);
            m.syncForCpu(dma, 4096, DmaDirection.TO_DEVICE);
            m.unmapPhys(dma, 4096, DmaDirection.TO_DEVICE, 0);
            ScatterList sg = new ScatterList(2).set(0, page, 4096).set(1, page + 4096, 4096);
            m.mapSg(sg, 2, DmaDirection.FROM_DEVICE, 0);
            m.unmapSg(sg, 2, DmaDirection.FROM_DEVICE, 0);
            recording.stop();
            recording.dump(file);
            List<RecordedEvent> events = RecordingFile.readAllEvents(file);
            Map<String, Long> byType = events.stream().collect(Collectors.groupingBy(e -> e.getEventType().getName(), Collectors.counting()));
            assertThat(byType).containsOnly(Map.entry("io.dma4j.Map", 2L), Map.entry("io.dma4j.Unmap", 2L), Map.entry("io.dma4j.Sync", 1L));
            RecordedEvent map = events.stream().filter(e -> e.getString("call") != null && e.getString("call").equals("mapPhys")).findFirst().orElseThrow();
            assertThat(map.getString("device")).isEqualTo("dmatest0");
            assertThat(map.getString("backend")).isEqualTo("direct");
            assertThat(map.getLong("phys")).isEqualTo(page);
            assertThat(map.getLong("dma")).isEqualTo(dma);
            assertThat(map.getLong("size")).isEqualTo(4096);
            assertThat(map.getString("direction")).isEqualTo("TO_DEVICE");
            RecordedEvent sgMap = events.stream().filter(e -> "mapSg".equals(e.getString("call"))).findFirst().orElseThrow();
            assertThat(sgMap.getLong("size")).as("the list's bytes").isEqualTo(8192);
        }
    }

    @Test
    void withoutTheSettingThereIsNoLayerAndNoEvent(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("off.jfr");
        try (Machine machine = Machine.createDefault();
             DmaRuntime rt = DmaRuntime.builder().machine(machine).build();
             Recording recording = new Recording()) {
            for (String e : EVENTS) {
                recording.enable(e).withoutThreshold();
            }
            recording.start();
            DmaMapper m = rt.mapper("dmatest0");
            long page = machine.pageAllocator().allocPages(0);
            m.unmapPhys(m.mapPhys(page, 4096, DmaDirection.TO_DEVICE, 0), 4096, DmaDirection.TO_DEVICE, 0);
            recording.stop();
            recording.dump(file);
            assertThat(RecordingFile.readAllEvents(file)).noneMatch(e -> e.getEventType().getName().startsWith("io.dma4j."));
        }
    }
}
