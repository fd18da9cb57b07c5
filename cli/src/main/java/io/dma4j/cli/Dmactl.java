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
            // every failure, expected or not, is one line (DMACTL_TRACE=1 adds the stack trace); an option
            // value out of range is a usage error (exit 2), like one picocli cannot parse; the rest exit 1
            boolean known = e instanceof DmaConfigurationException || e instanceof MachineDescriptionException || e instanceof IllegalArgumentException
                    || e instanceof io.dma4j.api.DmaMappingException || e instanceof io.dma4j.api.DmaApiMisuseException;
            if (System.getenv("DMACTL_TRACE") != null) {
                e.printStackTrace(cmd.getErr());
            }
            String what = known ? e.getMessage() : (e.getMessage() != null ? e.getMessage() : e.getClass().getName()) + " (" + e.getClass().getSimpleName() + ")";
            cmd.getErr().println("dmactl: " + io.dma4j.platform.PrintableText.escape(what));
            cmd.getErr().flush();
            return e instanceof UsageException ? 2 : 1;
        });
        int code = cl.execute(args);
        String problem = FlightRecording.finish(); // --jfr: written whatever the command's outcome
        if (problem != null) {
            err.println("dmactl: " + problem);
            err.flush();
            return code == 0 ? 1 : code;
        }
        return code;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The version from the jar manifest, or "dev". */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"dmactl " + io.dma4j.platform.BuildVersion.of(Dmactl.class) + " (Java " + Runtime.version() + ")"};
        }
    }
}
