package io.dma4j.cli;

import jdk.jfr.Recording;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code --jfr FILE}: a JDK Flight Recorder recording of dma4j's events over one dmactl
 * command (the runtime's JFR layer is turned on with it), written to the file when the
 * command ends, whatever its outcome.
 *
 * <p>Thread safety: one recording per process; the methods are synchronized.
 */
final class FlightRecording {
    /** Every event dma4j emits. */
    static final List<String> EVENTS = List.of("io.dma4j.Map", "io.dma4j.Unmap", "io.dma4j.IovaLink", "io.dma4j.IovaUnlink", "io.dma4j.Sync",
            "io.dma4j.IotlbFlush", "io.dma4j.Bounce", "io.dma4j.DeviceFault", "io.dma4j.OdpPageFault", "io.dma4j.OdpInvalidation",
            "io.dma4j.MigrationRound");

    private static Recording active;
    private static Path file;

    private FlightRecording() {
    }

    /**
     * Starts recording into {@code f} (once per process).
     *
     * @throws UsageException when the file's directory does not exist
     */
    static synchronized void start(Path f) {
        if (active != null) {
            return;
        }
        Path dir = f.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new UsageException("--jfr " + f + ": no directory " + dir + " to write the recording in");
        }
        Recording r = new Recording();
        r.setName("dmactl");
        for (String e : EVENTS) {
            r.enable(e).withoutThreshold();
        }
        r.start();
        active = r;
        file = f;
    }

    /** Stops the recording and writes it; a one-line problem, or {@code null} when all went well or nothing was recording. */
    static synchronized String finish() {
        if (active == null) {
            return null;
        }
        Recording r = active;
        active = null;
        try (r) {
            r.stop();
            r.dump(file);
            return null;
        } catch (IOException | RuntimeException e) {
            return "--jfr " + file + ": cannot write the recording (" + e.getMessage() + ")";
        }
    }
}
