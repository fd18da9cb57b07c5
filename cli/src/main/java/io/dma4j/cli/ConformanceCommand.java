package io.dma4j.cli;

import io.dma4j.conformance.Capability;
import io.dma4j.conformance.KitTarget;
import io.dma4j.conformance.KitTargetBackendRun;
import io.dma4j.conformance.KitTargetBounceRun;
import io.dma4j.conformance.KitTargetP2pRun;
import io.dma4j.conformance.KitTargetTwoStepRun;
import io.dma4j.runtime.DiscoveredProvider;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.spi.DmaRole;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.reporting.legacy.xml.LegacyXmlReportGeneratingListener;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder.request;

/** {@code dmactl conformance}: runs the provider kit against discovered or given provider jars. */
@Command(name = "conformance", mixinStandardHelpOptions = true,
        description = {"Runs the conformance kit against providers: every role a provider fills gets its contract.",
                "Prints a table (provider, rule, result, reason), writes a JUnit XML report, exits 1 if any rule failed."})
final class ConformanceCommand implements Callable<Integer> {
    @Mixin
    RuntimeOptions options;

    @Option(names = "--provider-path", paramLabel = "DIR_OR_JAR", description = "A provider jar, or a directory of them, to load and test.")
    Path providerPath;

    @Option(names = "--provider", paramLabel = "NAME", description = "Test only this provider (default: all found, or all in --provider-path).")
    String only;

    @Option(names = "--json", description = "Print the providers and the outcome of every rule as JSON instead of tables.")
    boolean json;

    @Option(names = "--report", paramLabel = "DIR", description = "Where the JUnit XML report goes (default: a new temporary directory, printed at the end).")
    Path reportDir;

    @Spec
    CommandSpec spec;

    private record Outcome(String provider, String rule, String result, String reason) {
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        Path dir = providerDirectory();
        if (dir != null) {
            options.providersDir = dir;
        }
        List<DiscoveredProvider> targets = new ArrayList<>();
        try (DmaRuntime rt = options.runtime(Map.of())) {
            for (DiscoveredProvider p : rt.providers()) {
                boolean wanted = only != null ? p.name().equals(only) : providerPath == null || p.origin().equals("extra jar");
                if (wanted) {
                    targets.add(p);
                }
            }
        }
        if (targets.isEmpty()) {
            throw new IllegalArgumentException(only != null ? "no provider named '" + only + "' was found" : "no provider found in " + providerPath);
        }
        if (reportDir == null) {
            reportDir = Files.createTempDirectory("dmactl-conformance-"); // never litter the working directory
        }
        Files.createDirectories(reportDir);
        List<Outcome> outcomes = new ArrayList<>();
        List<Map<String, Object>> tested = new ArrayList<>();
        for (DiscoveredProvider p : targets) {
            Set<Capability> caps = p.provider().roles().contains(DmaRole.MAPPING_BACKEND) ? KitTarget.probe(p.provider()) : Set.of();
            KitTarget.set(p.provider(), caps, options.machine); // the vendor's machine when --machine is given
            List<Class<?>> runs = new ArrayList<>();
            if (p.provider().roles().contains(DmaRole.MAPPING_BACKEND)) {
                runs.add(KitTargetBackendRun.class);
                runs.add(KitTargetTwoStepRun.class);
            }
            if (p.provider().roles().contains(DmaRole.BOUNCE_SERVICE)) {
                runs.add(KitTargetBounceRun.class);
            }
            if (p.provider().roles().contains(DmaRole.P2P_CLASSIFIER)) {
                runs.add(KitTargetP2pRun.class);
            }
            run(p.name(), runs, outcomes);
            Map<String, Object> entry = new java.util.LinkedHashMap<>();
            entry.put("name", p.name());
            entry.put("location", p.location());
            entry.put("capabilities", caps.stream().map(Enum::name).sorted().toList());
            tested.add(entry);
            if (!json) {
                out.println("provider " + p.name() + " (" + p.location() + "): capabilities " + (caps.isEmpty() ? "none" : caps));
            }
        }
        long failures = outcomes.stream().filter(o -> o.result.equals("FAILED")).count();
        if (json) {
            Map<String, Object> root = new java.util.LinkedHashMap<>();
            root.put("providers", tested);
            root.put("rules", outcomes);
            root.put("passed", outcomes.stream().filter(o -> o.result.equals("passed")).count());
            root.put("failed", failures);
            root.put("skipped", outcomes.stream().filter(o -> o.result.equals("skipped")).count());
            root.put("report", reportDir.toString());
            out.println(Json.write(root));
            out.flush();
            return failures == 0 ? 0 : 1;
        }
        TextTable t = new TextTable("PROVIDER", "RULE", "RESULT", "REASON");
        long failed = 0;
        for (Outcome o : outcomes) {
            t.row(o.provider, o.rule, o.result, o.reason);
            failed += o.result.equals("FAILED") ? 1 : 0;
        }
        t.print(out);
        out.printf("%d rules: %d passed, %d failed, %d skipped; JUnit XML report in %s%n", outcomes.size(),
                outcomes.stream().filter(o -> o.result.equals("passed")).count(), failed,
                outcomes.stream().filter(o -> o.result.equals("skipped")).count(), reportDir);
        out.flush();
        return failed == 0 ? 0 : 1;
    }

    private Path providerDirectory() throws IOException {
        if (providerPath == null) {
            return null;
        }
        if (Files.isDirectory(providerPath)) {
            return providerPath;
        }
        if (!Files.isRegularFile(providerPath)) {
            throw new IllegalArgumentException("--provider-path " + providerPath + ": no such jar or directory");
        }
        Path tmp = Files.createTempDirectory("dma4j-conformance");
        Files.copy(providerPath, tmp.resolve(providerPath.getFileName()));
        tmp.toFile().deleteOnExit();
        tmp.resolve(providerPath.getFileName()).toFile().deleteOnExit();
        return tmp;
    }

    private void run(String provider, List<Class<?>> classes, List<Outcome> outcomes) {
        LauncherDiscoveryRequest req = request().selectors(classes.stream().map(c -> selectClass(c)).toList()).build();
        Launcher launcher = LauncherFactory.create();
        TestExecutionListener collector = new TestExecutionListener() {
            @Override
            public void executionSkipped(TestIdentifier id, String reason) {
                if (id.isTest()) {
                    outcomes.add(new Outcome(provider, rule(id), "skipped", reason));
                }
            }

            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (!id.isTest()) {
                    return;
                }
                String reason = result.getThrowable().map(Throwable::getMessage).orElse("");
                String status = switch (result.getStatus()) {
                    case SUCCESSFUL -> "passed";
                    case ABORTED -> "skipped";
                    case FAILED -> "FAILED";
                };
                outcomes.add(new Outcome(provider, rule(id), status, reason == null ? "" : reason.replace('\n', ' ')));
            }
        };
        launcher.execute(req, collector, new LegacyXmlReportGeneratingListener(reportDir, new PrintWriter(System.err)));
    }

    private static String rule(TestIdentifier id) {
        return id.getLegacyReportingName().replace("()", "");
    }
}
