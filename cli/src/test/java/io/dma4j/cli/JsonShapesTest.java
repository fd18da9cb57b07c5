package io.dma4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's "JSON output" table against the commands themselves: each documented
 * command runs, its output parses, and its top-level keys are exactly the documented
 * ones (plus, where the table says so, the backend's statistics).
 */
class JsonShapesTest {
    /** Short, bounded arguments for the commands the table names. */
    private static final Map<String, String[]> EXTRA = Map.of(
            "map-bench", new String[] {"--seconds", "0.2"},
            "run nvme", new String[] {"--requests", "20"},
            "run odp", new String[] {"--requests", "50", "--size", "2MiB", "--max-size", "16KiB"},
            "run migrate", new String[] {"--size", "2MiB", "--guest-size", "1MiB"},
            "run dmabuf", new String[] {"--requests", "50"});

    @Test
    void everyDocumentedCommandPrintsExactlyTheDocumentedKeys() throws Exception {
        Map<String, Set<String>> documented = documented();
        assertThat(documented.keySet()).containsExactly("providers --json", "machine --p2p --json", "map-bench --stats --json", "run nvme --json",
                "run odp --json", "run migrate --json", "run dmabuf --json", "conformance --provider direct --json");
        for (Map.Entry<String, Set<String>> e : documented.entrySet()) {
            List<String> args = new ArrayList<>(List.of(e.getKey().split(" ")));
            for (Map.Entry<String, String[]> x : EXTRA.entrySet()) {
                if (e.getKey().startsWith(x.getKey())) {
                    args.addAll(List.of(x.getValue()));
                }
            }
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int code = Dmactl.run(new PrintWriter(out, true), new PrintWriter(err, true), args.toArray(String[]::new));
            assertThat(code).as("%s: %s", e.getKey(), err).isZero();
            JsonNode root = new ObjectMapper().readTree(out.toString());
            JsonNode object = root.isArray() ? root.get(0) : root;
            Set<String> keys = new LinkedHashSet<>();
            object.fieldNames().forEachRemaining(keys::add);
            Set<String> figures = new LinkedHashSet<>();
            for (String k : keys) {
                if (k.startsWith("backend.") || k.startsWith("bounce.") || k.equals("faults")) {
                    figures.add(k);
                }
            }
            if (e.getValue().contains("then the backend's figures")) {
                keys.removeAll(figures);
                assertThat(figures).as("%s: the backend's figures", e.getKey()).contains("faults");
            }
            Set<String> expected = new LinkedHashSet<>(e.getValue());
            expected.remove("then the backend's figures");
            assertThat(keys).as(e.getKey()).containsExactlyInAnyOrderElementsOf(expected);
        }
    }

    /** Command to its documented top-level keys (the backticked names outside parentheses). */
    private static Map<String, Set<String>> documented() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        String section = readme.substring(readme.indexOf("### JSON output"), readme.indexOf("\"The backend's figures\""));
        Map<String, Set<String>> out = new LinkedHashMap<>();
        Pattern row = Pattern.compile("^\\| `dmactl ([^`]+)` \\| (.+) \\|$", Pattern.MULTILINE);
        Matcher m = row.matcher(section);
        while (m.find()) {
            String cell = m.group(2).replaceAll("\\([^()]*(\\([^()]*\\)[^()]*)*\\)", ""); // the nested keys in parentheses are not top-level
            Set<String> keys = new LinkedHashSet<>();
            Matcher k = Pattern.compile("`([A-Za-z0-9.]+)`").matcher(cell);
            while (k.find()) {
                keys.add(k.group(1));
            }
            if (cell.contains("then the backend's figures")) {
                keys.add("then the backend's figures");
            }
            out.put(m.group(1), keys);
        }
        return out;
    }
}
