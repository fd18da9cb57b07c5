package io.dma4j.cli;

import io.dma4j.runtime.DiscoveredProvider;
import io.dma4j.runtime.DmaRuntime;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/** {@code dmactl providers}: the providers found, their roles, versions and where they came from. */
@Command(name = "providers", mixinStandardHelpOptions = true, description = "Lists the DMA providers found (module path, class path, extra jars).")
final class ProvidersCommand implements Runnable {
    @Mixin
    RuntimeOptions options;

    @Option(names = "--json", description = "Print JSON instead of a table.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        try (DmaRuntime rt = options.runtime(Map.of())) {
            if (json) {
                List<Map<String, Object>> list = new ArrayList<>();
                for (DiscoveredProvider p : rt.providers()) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("name", p.name());
                    m.put("roles", new TreeSet<>(p.provider().roles().stream().map(Enum::name).toList()));
                    m.put("version", p.provider().version());
                    m.put("priority", p.provider().priority());
                    m.put("origin", p.origin());
                    m.put("location", p.location());
                    list.add(m);
                }
                out.println(Json.write(list));
                out.flush();
                return;
            }
            TextTable t = new TextTable("NAME", "ROLES", "VERSION", "PRIORITY", "ORIGIN", "JAR/MODULE");
            for (DiscoveredProvider p : rt.providers()) {
                t.row(p.name(), String.join(",", new TreeSet<>(p.provider().roles().stream().map(r -> r.name().toLowerCase().replace('_', '-')).toList())),
                        p.provider().version(), p.provider().priority(), p.origin(), p.location());
            }
            t.print(out);
        }
    }
}
