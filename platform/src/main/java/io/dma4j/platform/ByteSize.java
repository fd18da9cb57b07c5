package io.dma4j.platform;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte counts and addresses as people write them: "4096", "0x1_0000_0000", "64MiB",
 * "1 TiB" (binary units KiB..PiB; underscores allowed in digits).
 */
public final class ByteSize {
    private static final Pattern SIZE = Pattern.compile("(?i)\\s*(0x[0-9a-f_]+|[0-9][0-9_]*)\\s*(KiB|MiB|GiB|TiB|PiB|B)?\\s*");
    private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};

    private ByteSize() {
    }

    /**
     * Parses a size or address.
     *
     * @throws IllegalArgumentException saying what was expected, for text that is not one
     *                                  or a value that does not fit in 63 bits
     */
    public static long parse(String text) {
        Matcher m = SIZE.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("expected a size or address like 4096, \"64MiB\" or \"0x1000\", got \"" + text + "\"");
        }
        String digits = m.group(1).replace("_", "");
        int shift = shiftOf(m.group(2));
        try {
            long v = digits.toLowerCase(Locale.ROOT).startsWith("0x") ? Long.parseUnsignedLong(digits.substring(2), 16) : Long.parseLong(digits);
            if (v < 0 || (shift > 0 && v > (Long.MAX_VALUE >>> shift))) {
                throw new NumberFormatException();
            }
            return v << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("value too large: \"" + text + "\" (expected: below 2^63)");
        }
    }

    /**
     * Parses the value of the option {@code name} (a model option, a setting).
     *
     * @throws IllegalArgumentException as {@link #parse}, the message starting with the option's name
     */
    public static long parseOption(String name, String text) {
        try {
            return parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
        }
    }

    /** The largest binary unit that divides the value exactly: "16 KiB", "2047 MiB", "4097 B". */
    public static String format(long bytes) {
        int u = 0;
        long v = bytes;
        while (u < UNITS.length - 1 && v >= 1024 && v % 1024 == 0) {
            v /= 1024;
            u++;
        }
        return v + " " + UNITS[u];
    }

    private static int shiftOf(String unit) {
        if (unit == null) {
            return 0;
        }
        return switch (unit.toLowerCase(Locale.ROOT)) {
            case "kib" -> 10;
            case "mib" -> 20;
            case "gib" -> 30;
            case "tib" -> 40;
            case "pib" -> 50;
            default -> 0;
        };
    }
}
