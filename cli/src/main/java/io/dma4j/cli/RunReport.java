package io.dma4j.cli;

import io.dma4j.runtime.Statistics;
import io.dma4j.spi.Metric;

import java.io.Console;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** What the {@code run} workloads share: the live progress line, the backend's figures in the summary, and its printing. */
final class RunReport {
    private static final long SHOW_EVERY_NS = 200_000_000L;
    private final PrintWriter err;
    private final boolean live;
    private long lastShown = System.nanoTime();
    private int shownWidth;

    /** A progress line on {@code err}, shown only on a terminal and never with {@code --json}. */
    RunReport(PrintWriter err, boolean json) {
        Console console = System.console();
        this.err = err;
        this.live = !json && console != null && console.isTerminal();
    }

    /** Whether a progress update is due (at most every 200 ms, and only when live). */
    boolean due() {
        if (!live) {
            return false;
        }
        long now = System.nanoTime();
        if (now - lastShown <= SHOW_EVERY_NS) {
            return false;
        }
        lastShown = now;
        return true;
    }

    /** Rewrites the progress line. */
    void show(String text) {
        err.print("\r" + text);
        err.flush();
        shownWidth = Math.max(shownWidth, text.length());
    }

    /** Erases the progress line, if one was shown. */
    void clear() {
        if (shownWidth > 0) {
            err.print("\r" + " ".repeat(shownWidth) + "\r");
            err.flush();
        }
    }

    /** Adds to {@code summary} each of {@code metrics} the device's statistics report. */
    static void addFigures(Map<String, Object> summary, Statistics stats, List<Metric> metrics) {
        for (Metric k : metrics) {
            if (stats.has(k)) {
                summary.put(k.key(), stats.get(k));
            }
        }
    }

    /** Prints {@code summary} as JSON, or as {@code heading} and a FIGURE/VALUE table (doubles to one decimal). */
    static void print(PrintWriter out, boolean json, String heading, Map<String, Object> summary) {
        if (json) {
            out.println(Json.write(summary));
        } else {
            out.println(heading);
            TextTable t = new TextTable("FIGURE", "VALUE");
            summary.forEach((k, v) -> t.row(k, switch (v) {
                case Double d -> String.format(Locale.ROOT, "%.1f", d);
                case Latency.Summary l -> l.describe();
                default -> v;
            }));
            t.print(out);
        }
        out.flush();
    }
}
