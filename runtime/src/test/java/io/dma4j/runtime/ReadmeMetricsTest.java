package io.dma4j.runtime;

import io.dma4j.spi.Metric;
import io.dma4j.spi.Metrics;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The README's statistics table lists every metric of the catalogue, with its kind, unit and meaning, and nothing else. */
class ReadmeMetricsTest {
    @Test
    void everyMetricIsInTheReadmeTable() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        for (Metric m : Metrics.ALL) {
            assertThat(readme).contains("| `" + m.key() + "` | " + m.kind().name().toLowerCase() + " | " + m.unit().name().toLowerCase() + " | " + m.meaning() + " |");
            assertThat(Metrics.byKey(m.key())).isSameAs(m);
        }
        long rows = readme.lines().filter(l -> l.matches("\\| `[a-zA-Z.]+` \\| (counter|gauge) \\| .*")).count();
        assertThat(rows).isEqualTo(Metrics.ALL.size());
        assertThat(Metrics.ALL.stream().map(Metric::key).distinct().count()).as("keys are unique").isEqualTo(Metrics.ALL.size());
    }
}
