package io.dma4j.cli;

import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Options every command that assembles a runtime shares. */
final class RuntimeOptions {
    @Option(names = {"-m", "--machine"}, paramLabel = "FILE", description = "Machine description (JSON); default: the built-in machine.")
    Path machine;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "Configuration file (.properties or .json) of dma4j.* entries.")
    Path config;

    @Option(names = {"-p", "--providers-dir"}, paramLabel = "DIR", description = "Directory of extra provider jars.")
    Path providersDir;

    @Option(names = "-D", paramLabel = "NAME=VALUE", description = "Sets a configuration entry, e.g. -D dma4j.backend.dmatest0=direct.")
    Map<String, String> entries = new LinkedHashMap<>();

    @Option(names = "--jfr", paramLabel = "FILE", description = "Records dma4j's JDK Flight Recorder events (map, unmap, link, unlink, sync, IOTLB flush, bounce, device fault, ODP, migration rounds) into FILE.")
    Path jfr;

    /** The configuration: file, then -D system properties, then this command line. */
    RuntimeConfig configuration(Map<String, String> defaults) {
        RuntimeConfig c = config == null ? RuntimeConfig.of(defaults) : RuntimeConfig.load(config);
        for (Map.Entry<String, String> e : defaults.entrySet()) {
            if (c.get(e.getKey()) == null) {
                c = c.with(e.getKey(), e.getValue());
            }
        }
        c = c.withSystemOverrides();
        if (machine != null) {
            c = c.with(RuntimeConfig.MACHINE, machine.toString());
        }
        if (providersDir != null) {
            c = c.with(RuntimeConfig.PROVIDERS_DIR, providersDir.toString());
        }
        for (Map.Entry<String, String> e : entries.entrySet()) {
            c = c.with(e.getKey(), e.getValue());
        }
        if (jfr != null) {
            c = c.with(RuntimeConfig.JFR, "true");
            FlightRecording.start(jfr);
        }
        return c;
    }

    DmaRuntime runtime(Map<String, String> defaults) {
        return DmaRuntime.builder().config(configuration(defaults)).build();
    }
}
