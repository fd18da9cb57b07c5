package io.dma4j.cli;

import io.dma4j.platform.description.MachineDescriptionException;
import io.dma4j.runtime.DmaConfigurationException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * {@code dmactl}: runs workloads on a simulated machine, lists providers, prints the
 * machine. Exit codes: 0 success, 1 a problem with the machine, configuration or run
 * (one line on stderr says what), 2 bad command-line usage.
 */
@Command(name = "dmactl", mixinStandardHelpOptions = true, versionProvider = Dmactl.Version.class,
        description = "The dma4j command line: the Linux DMA mapping layer over a simulated machine.",
        subcommands = {ProvidersCommand.class, MachineCommand.class, MapBenchCommand.class, RunCommand.class, ConformanceCommand.class, CommandLine.HelpCommand.class})
public final class Dmactl implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Runs dmactl and exits with its code. */
    public static void main(String[] args) {
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs dmactl with the given output streams and returns the exit code (for tests and embedding). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new Dmactl());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof UsageException) {
                cmd.getErr().println("dmactl: " + io.dma4j.platform.PrintableText.escape(e.getMessage()));
                cmd.getErr().flush();
                return 2; // an option value out of range: a usage error, like one picocli cannot parse
            }
            // every other failure, expected or not, is one line and exit 1 (set DMACTL_TRACE=1 for the stack trace)
            if (System.getenv("DMACTL_TRACE") != null) {
                e.printStackTrace(cmd.getErr());
            }
            boolean known = e instanceof DmaConfigurationException || e instanceof MachineDescriptionException || e instanceof IllegalArgumentException
                    || e instanceof io.dma4j.api.DmaMappingException || e instanceof io.dma4j.api.DmaApiMisuseException;
            String what = known || e.getMessage() != null ? e.getMessage() : e.getClass().getName();
            cmd.getErr().println("dmactl: " + io.dma4j.platform.PrintableText.escape(known ? what : what + " (" + e.getClass().getSimpleName() + ")"));
            cmd.getErr().flush();
            return 1;
        });
        return cl.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The version from the jar manifest, or "dev". */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"dmactl " + version() + " (Java " + Runtime.version() + ")"};
        }

        /** The build's version: the module's, else the jar manifest's, else "dev". */
        static String version() {
            Module m = Dmactl.class.getModule();
            if (m.isNamed() && m.getDescriptor() != null && m.getDescriptor().rawVersion().isPresent()) {
                return m.getDescriptor().rawVersion().get();
            }
            String v = Dmactl.class.getPackage().getImplementationVersion();
            return v == null ? "dev" : v;
        }
    }
}
