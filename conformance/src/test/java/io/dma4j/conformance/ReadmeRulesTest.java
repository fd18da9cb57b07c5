package io.dma4j.conformance;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The README's rules table lists every rule of every contract, and nothing else. */
class ReadmeRulesTest {
    @Test
    void everyRuleIsInTheReadmeTable() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        int rows = 0;
        for (Class<?> c : new Class<?>[] {MappingBackendContract.class, TwoStepContract.class, BounceServiceContract.class, P2pClassifierContract.class}) {
            for (Method m : c.getDeclaredMethods()) {
                if (m.isAnnotationPresent(org.junit.jupiter.api.Test.class)) {
                    assertThat(readme).as("README rules table").contains("| `" + c.getSimpleName() + "` | `" + m.getName() + "` |");
                    rows++;
                }
            }
        }
        assertThat(readme.lines().filter(l -> l.matches("\\| `\\w+Contract` \\| `\\w+` \\|.*")).count()).isEqualTo(rows);
    }
}
