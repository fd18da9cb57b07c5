package io.dma4j.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RuntimeConfigTest {
    @Test
    void propertiesAndNestedJsonReadTheSame(@TempDir Path dir) throws Exception {
        Path props = dir.resolve("c.properties");
        Files.writeString(props, "dma4j.debug=false\ndma4j.backend.dmatest0 = direct\ndma4j.direct.forceBounce=true\n");
        Path json = dir.resolve("c.json");
        Files.writeString(json, "{\"dma4j\": {\"debug\": false, \"backend.dmatest0\": \"direct\", \"direct\": {\"forceBounce\": true}}}");
        RuntimeConfig a = RuntimeConfig.load(props);
        RuntimeConfig b = RuntimeConfig.load(json);
        assertThat(a.values()).isEqualTo(b.values());
        assertThat(a.flag(RuntimeConfig.DEBUG, true)).isFalse();
        assertThat(a.backendFor("dmatest0")).isEqualTo("direct");
        assertThat(a.backendFor("other")).isNull();
        assertThat(a.settingsFor("direct").getBoolean("forceBounce", false)).isTrue();
    }

    @Test
    void systemStyleOverridesWin() {
        Properties p = new Properties();
        p.setProperty("dma4j.debug", "true");
        p.setProperty("unrelated", "x");
        RuntimeConfig c = RuntimeConfig.of(java.util.Map.of("dma4j.debug", "false")).with(p);
        assertThat(c.values()).containsOnlyKeys("dma4j.debug").containsEntry("dma4j.debug", "true");
    }

    @Test
    void badFilesAreNamed(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("bad.json");
        Files.writeString(json, "{\"dma4j\": {\"debug\": [1]}}");
        assertThatThrownBy(() -> RuntimeConfig.load(json)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("configuration " + json + ": dma4j.debug: expected a string, number, boolean or object, got ARRAY");
        assertThatThrownBy(() -> RuntimeConfig.load(dir.resolve("none.properties"))).hasMessageContaining("cannot read");
        assertThatThrownBy(() -> RuntimeConfig.of(java.util.Map.of("dma4j.debug.mode", "loud")).debugThrows())
                .hasMessage("configuration dma4j.debug.mode=loud (expected: throw or report)");
    }
}
