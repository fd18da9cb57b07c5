package io.dma4j.spi;

import java.util.Map;
import java.util.TreeMap;

/**
 * Configuration handed to a provider: the runtime's configuration entries whose names
 * start with {@code dma4j.<provider-name>.}, with that prefix removed
 * ({@code dma4j.direct.forceBounce=true} reaches provider "direct" as {@code forceBounce}).
 *
 * @param values the entries
 */
public record ProviderSettings(Map<String, String> values) {
    /** No settings. */
    public static final ProviderSettings EMPTY = new ProviderSettings(Map.of());

    public ProviderSettings {
        values = Map.copyOf(new TreeMap<>(values));
    }

    /** The value of {@code key}, or {@code fallback}. */
    public String get(String key, String fallback) {
        return values.getOrDefault(key, fallback);
    }

    /**
     * A boolean setting.
     *
     * @throws IllegalArgumentException if present and not "true" or "false"
     */
    public boolean getBoolean(String key, boolean fallback) {
        String v = values.get(key);
        if (v == null) {
            return fallback;
        }
        if (!v.equals("true") && !v.equals("false")) {
            throw new IllegalArgumentException("setting " + key + "=" + v + " (expected: true or false)");
        }
        return Boolean.parseBoolean(v);
    }

    /**
     * A numeric setting (decimal or 0x hex).
     *
     * @throws IllegalArgumentException if present and not a number
     */
    public long getLong(String key, long fallback) {
        String v = values.get(key);
        if (v == null) {
            return fallback;
        }
        try {
            return v.startsWith("0x") ? Long.parseUnsignedLong(v.substring(2), 16) : Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("setting " + key + "=" + v + " (expected: a number)", e);
        }
    }
}
