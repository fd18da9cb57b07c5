package io.dma4j.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dma4j.spi.ProviderSettings;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The runtime's configuration: string entries named {@code dma4j.*}, read from a
 * properties or JSON file and overridden by {@code -D} system properties.
 *
 * <table>
 * <caption>Entries</caption>
 * <tr><th>name</th><th>default</th><th>meaning</th></tr>
 * <tr><td>{@code dma4j.machine}</td><td>built-in</td><td>machine description file (JSON)</td></tr>
 * <tr><td>{@code dma4j.providers.dir}</td><td>none</td><td>directory of extra provider jars, loaded in their own module layer</td></tr>
 * <tr><td>{@code dma4j.debug}</td><td>{@code true}</td><td>DMA-debug checks on every mapper</td></tr>
 * <tr><td>{@code dma4j.debug.mode}</td><td>{@code throw}</td><td>{@code throw}: a violation throws and the call changes nothing;
 *     {@code report}: it is recorded and the call goes ahead, as the kernel's WARN does</td></tr>
 * <tr><td>{@code dma4j.stats}</td><td>{@code true}</td><td>per-device statistics</td></tr>
 * <tr><td>{@code dma4j.backend}</td><td>automatic</td><td>mapping-backend provider for every device</td></tr>
 * <tr><td>{@code dma4j.backend.<device>}</td><td>automatic</td><td>mapping-backend provider for one device</td></tr>
 * <tr><td>{@code dma4j.bounce}</td><td>highest priority</td><td>provider of the bounce-buffer role ({@code none} for none)</td></tr>
 * <tr><td>{@code dma4j.p2p}</td><td>highest priority</td><td>provider of the P2P role ({@code none} for none)</td></tr>
 * <tr><td>{@code dma4j.<provider>.<key>}</td><td></td><td>a provider's own setting (see {@link ProviderSettings})</td></tr>
 * </table>
 *
 * <p>A JSON file may nest objects ({@code {"dma4j": {"debug": false}}}) or use dotted
 * names; values may be strings, numbers or booleans. Unknown {@code dma4j.*} names are
 * refused when the runtime starts, with the list of known ones.
 *
 * <p>Thread safety: immutable.
 */
public final class RuntimeConfig {
    public static final String MACHINE = "dma4j.machine";
    public static final String PROVIDERS_DIR = "dma4j.providers.dir";
    public static final String DEBUG = "dma4j.debug";
    public static final String DEBUG_MODE = "dma4j.debug.mode";
    public static final String STATS = "dma4j.stats";
    /** {@code true}: each device's chain gets a layer that emits JDK Flight Recorder events for mapping calls (default false). */
    public static final String JFR = "dma4j.jfr";
    public static final String BACKEND = "dma4j.backend";
    public static final String BOUNCE = "dma4j.bounce";
    public static final String P2P = "dma4j.p2p";
    /** The names the runtime itself reads ({@code dma4j.backend.<device>} aside). */
    public static final Set<String> KNOWN = Set.of(MACHINE, PROVIDERS_DIR, DEBUG, DEBUG_MODE, STATS, JFR, BACKEND, BOUNCE, P2P);

    private final Map<String, String> values;

    private RuntimeConfig(Map<String, String> values) {
        this.values = Collections.unmodifiableMap(new TreeMap<>(values));
    }

    /** The defaults (no entries). */
    public static RuntimeConfig defaults() {
        return new RuntimeConfig(Map.of());
    }

    /** A configuration of exactly these entries. */
    public static RuntimeConfig of(Map<String, String> values) {
        return new RuntimeConfig(values);
    }

    /**
     * Reads a {@code .properties} or {@code .json} file.
     *
     * @throws IllegalArgumentException naming the file when it cannot be read or parsed
     */
    public static RuntimeConfig load(Path file) {
        Map<String, String> out = new LinkedHashMap<>();
        try {
            if (file.getFileName().toString().endsWith(".json")) {
                flatten("", new ObjectMapper().readTree(file.toFile()), out, file);
            } else {
                Properties p = new Properties();
                try (Reader r = Files.newBufferedReader(file)) {
                    p.load(r);
                }
                for (String k : p.stringPropertyNames()) {
                    out.put(k, p.getProperty(k).trim());
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("configuration " + file + ": cannot read: " + e.getMessage(), e);
        }
        return new RuntimeConfig(out);
    }

    private static void flatten(String prefix, JsonNode node, Map<String, String> out, Path file) {
        if (node.isObject()) {
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                flatten(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue(), out, file);
            }
        } else if (node.isValueNode() && !node.isNull()) {
            out.put(prefix, node.asText());
        } else {
            throw new IllegalArgumentException("configuration " + file + ": " + (prefix.isEmpty() ? "$" : prefix)
                    + ": expected a string, number, boolean or object, got " + node.getNodeType());
        }
    }

    /** This configuration with every {@code dma4j.*} system property laid over it. */
    public RuntimeConfig withSystemOverrides() {
        return with(System.getProperties());
    }

    /** This configuration with the {@code dma4j.*} entries of {@code overrides} laid over it. */
    public RuntimeConfig with(Properties overrides) {
        Map<String, String> m = new HashMap<>(values);
        for (String k : overrides.stringPropertyNames()) {
            if (k.startsWith("dma4j.")) {
                m.put(k, overrides.getProperty(k));
            }
        }
        return new RuntimeConfig(m);
    }

    /** This configuration with one entry set. */
    public RuntimeConfig with(String name, String value) {
        Map<String, String> m = new HashMap<>(values);
        m.put(name, value);
        return new RuntimeConfig(m);
    }

    /** All entries, sorted by name. */
    public Map<String, String> values() {
        return values;
    }

    /** The value of an entry, or {@code null}. */
    public String get(String name) {
        return values.get(name);
    }

    /**
     * A boolean entry.
     *
     * @throws IllegalArgumentException when present and not "true" or "false"
     */
    public boolean flag(String name, boolean fallback) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        if (!v.equals("true") && !v.equals("false")) {
            throw new IllegalArgumentException("configuration " + name + "=" + v + " (expected: true or false)");
        }
        return Boolean.parseBoolean(v);
    }

    /** The configured backend provider for a device ({@code dma4j.backend.<device>}, else {@code dma4j.backend}), or {@code null}. */
    public String backendFor(String device) {
        String v = values.get(BACKEND + "." + device);
        return v != null ? v : values.get(BACKEND);
    }

    /** Whether failing debug checks throw ({@code dma4j.debug.mode=throw}, the default). */
    public boolean debugThrows() {
        String v = values.getOrDefault(DEBUG_MODE, "throw");
        return switch (v) {
            case "throw" -> true;
            case "report" -> false;
            default -> throw new IllegalArgumentException("configuration " + DEBUG_MODE + "=" + v + " (expected: throw or report)");
        };
    }

    /** The settings of one provider: {@code dma4j.<provider>.*} with the prefix removed. */
    public ProviderSettings settingsFor(String provider) {
        String prefix = "dma4j." + provider + ".";
        Map<String, String> m = new HashMap<>();
        for (Map.Entry<String, String> e : values.entrySet()) {
            if (e.getKey().startsWith(prefix)) {
                m.put(e.getKey().substring(prefix.length()), e.getValue());
            }
        }
        return new ProviderSettings(m);
    }

    /**
     * Checks that every {@code dma4j.*} name is one the runtime or a provider reads.
     *
     * @param providerNames names of the discovered providers
     * @param deviceNames   names of the machine's devices
     * @throws IllegalArgumentException naming the first unknown entry and the known ones
     */
    public void validate(Set<String> providerNames, Set<String> deviceNames) {
        for (String k : values.keySet()) {
            if (!k.startsWith("dma4j.") || KNOWN.contains(k)) {
                continue;
            }
            String rest = k.substring("dma4j.".length());
            int dot = rest.indexOf('.');
            String head = dot < 0 ? rest : rest.substring(0, dot);
            if (head.equals("fail")) {
                continue; // dma4j.fail.*: checked by the machine's FaultInjector when the runtime applies them
            }
            if (head.equals("backend") && dot > 0) {
                String dev = rest.substring(dot + 1);
                if (!deviceNames.contains(dev)) {
                    throw new IllegalArgumentException("configuration " + k + ": no device '" + dev + "' (devices: " + String.join(", ", new TreeSet<>(deviceNames)) + ")");
                }
                continue;
            }
            if (dot > 0 && providerNames.contains(head)) {
                continue;
            }
            throw new IllegalArgumentException("configuration " + k + ": unknown name (known: " + String.join(", ", new TreeSet<>(KNOWN))
                    + ", dma4j.backend.<device>, dma4j.fail.<point>.<setting>, dma4j.<provider>.<setting> for providers " + String.join(", ", new TreeSet<>(providerNames)) + ")");
        }
    }

    @Override
    public String toString() {
        return "RuntimeConfig" + values;
    }
}
