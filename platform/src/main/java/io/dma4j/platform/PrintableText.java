package io.dma4j.platform;

/**
 * Text from descriptions and configuration made safe for one-line messages: control
 * characters (a newline in a device name would forge a second {@code dmactl:} line) and the
 * Unicode bidirectional controls (which reorder what a terminal shows) are written as
 * {@code \\uXXXX}; everything else stays as it is.
 *
 * <p>Thread safety: stateless.
 */
public final class PrintableText {
    private PrintableText() {
    }

    /** {@code text} with every control and bidirectional-control character escaped; {@code null} as "null". */
    public static String escape(String text) {
        if (text == null) {
            return "null";
        }
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (unsafe(c)) {
                if (sb == null) {
                    sb = new StringBuilder(text.length() + 16).append(text, 0, i);
                }
                sb.append(String.format("\\u%04x", (int) c));
            } else if (sb != null) {
                sb.append(c);
            }
        }
        return sb == null ? text : sb.toString();
    }

    private static boolean unsafe(char c) {
        return c < 0x20 || (c >= 0x7F && c <= 0x9F)
                || c == '\u061C' || c == '\u200E' || c == '\u200F'
                || (c >= '\u202A' && c <= '\u202E') || (c >= '\u2066' && c <= '\u2069');
    }
}
