package io.dma4j.cli;

import org.jsoup.nodes.Element;

import java.util.List;
import java.util.Locale;

/**
 * Small inline-SVG charts for the HTML report, built as jsoup elements (so every label is
 * escaped): line charts over time, bar charts, and plain shapes. No scripts, no external
 * resources.
 */
final class SvgChart {
    static final int WIDTH = 760;
    static final int HEIGHT = 220;
    static final int LEFT = 70;
    static final int BOTTOM = 30;
    static final String[] COLOURS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

    private SvgChart() {
    }

    /** An empty {@code <svg>} of the report's size, with a class and an accessible title. */
    static Element svg(Element parent, String cssClass, String title, int height) {
        Element svg = parent.appendElement("svg").attr("xmlns", "http://www.w3.org/2000/svg").attr("class", cssClass)
                .attr("width", Integer.toString(WIDTH)).attr("height", Integer.toString(height))
                .attr("viewBox", "0 0 " + WIDTH + " " + height).attr("role", "img");
        svg.appendElement("title").text(title);
        return svg;
    }

    static Element rect(Element svg, double x, double y, double w, double h, String fill, String tip) {
        Element r = svg.appendElement("rect").attr("x", f(x)).attr("y", f(y)).attr("width", f(Math.max(w, 0.5))).attr("height", f(Math.max(h, 0.5)))
                .attr("fill", fill);
        if (tip != null) {
            r.appendElement("title").text(tip);
        }
        return r;
    }

    static void text(Element svg, double x, double y, String s, String anchor) {
        svg.appendElement("text").attr("x", f(x)).attr("y", f(y)).attr("font-size", "11").attr("text-anchor", anchor).text(s);
    }

    /**
     * A line chart: one polyline per series over shared x values (seconds), y from 0 to the
     * largest value, with axes and a legend.
     */
    static void lines(Element parent, String cssClass, String title, double[] x, List<String> names, List<double[]> series, String unit) {
        Element svg = svg(parent, cssClass, title, HEIGHT);
        double xMax = x.length == 0 ? 1 : Math.max(x[x.length - 1], 1e-9);
        double yMax = 1;
        for (double[] s : series) {
            for (double v : s) {
                yMax = Math.max(yMax, v);
            }
        }
        axes(svg, HEIGHT, String.format(Locale.ROOT, "%.2f s", xMax), unit + " (max " + fmt(yMax) + ")");
        double plotW = WIDTH - LEFT - 10;
        double plotH = HEIGHT - BOTTOM - 10;
        for (int k = 0; k < series.size(); k++) {
            StringBuilder pts = new StringBuilder();
            double[] s = series.get(k);
            for (int i = 0; i < s.length; i++) {
                pts.append(f(LEFT + plotW * x[i] / xMax)).append(',').append(f(10 + plotH - plotH * s[i] / yMax)).append(' ');
            }
            svg.appendElement("polyline").attr("points", pts.toString().trim()).attr("fill", "none").attr("stroke", COLOURS[k % COLOURS.length])
                    .attr("stroke-width", "2").attr("data-series", names.get(k));
            svg.appendElement("rect").attr("x", f(LEFT + 10 + 150 * k)).attr("y", "12").attr("width", "10").attr("height", "10").attr("fill", COLOURS[k % COLOURS.length]);
            text(svg, LEFT + 24 + 150 * k, 21, names.get(k), "start");
        }
    }

    /** A bar chart of counts over labelled buckets. */
    static void bars(Element parent, String cssClass, String title, List<String> labels, long[] counts) {
        Element svg = svg(parent, cssClass, title, HEIGHT);
        long max = 1;
        for (long c : counts) {
            max = Math.max(max, c);
        }
        axes(svg, HEIGHT, "", "count (max " + max + ")");
        double plotW = WIDTH - LEFT - 10;
        double plotH = HEIGHT - BOTTOM - 10;
        double w = plotW / Math.max(1, counts.length);
        for (int i = 0; i < counts.length; i++) {
            double h = plotH * counts[i] / max;
            rect(svg, LEFT + i * w + 1, 10 + plotH - h, w - 2, h, COLOURS[0], labels.get(i) + ": " + counts[i]).attr("class", "bar");
            if (i % (1 + counts.length / 12) == 0) { // at most about 12 labels: they must not overlap
                text(svg, LEFT + i * w + w / 2, HEIGHT - 12, labels.get(i), "middle");
            }
        }
    }

    static void axes(Element svg, int height, String xLabel, String yLabel) {
        svg.appendElement("line").attr("x1", Integer.toString(LEFT)).attr("y1", Integer.toString(height - BOTTOM)).attr("x2", Integer.toString(WIDTH - 10))
                .attr("y2", Integer.toString(height - BOTTOM)).attr("stroke", "#444");
        svg.appendElement("line").attr("x1", Integer.toString(LEFT)).attr("y1", "10").attr("x2", Integer.toString(LEFT))
                .attr("y2", Integer.toString(height - BOTTOM)).attr("stroke", "#444");
        text(svg, WIDTH - 10, height - BOTTOM + 14, xLabel, "end");
        text(svg, 4, height - 6, yLabel, "start");
    }

    static String fmt(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.format(Locale.ROOT, "%,d", (long) v) : String.format(Locale.ROOT, "%,.1f", v);
    }

    private static String f(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }
}
