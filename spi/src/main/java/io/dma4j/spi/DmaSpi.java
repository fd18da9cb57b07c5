package io.dma4j.spi;

/**
 * The SPI's version. A provider returns {@link #VERSION} from
 * {@link DmaProvider#spiVersion()}: the constant is inlined into the provider's class when
 * it is compiled, so the value records the SPI the provider was <em>built</em> against.
 * The runtime refuses, at discovery, a provider of another major version or of a newer
 * minor version than its own.
 *
 * <p>History: 1 — {@code MappingBackend} extended the driver API (0.1); 2 — a separate,
 * narrow {@code dma_map_ops} contract with the two-step calls as an optional capability;
 * 2.1 — {@code MappingBackend.addressingLimited(long)} (a default method: 2.0 jars still run).
 */
public final class DmaSpi {
    /** This SPI's version, "major.minor". */
    public static final String VERSION = "2.1";

    private DmaSpi() {
    }

    /**
     * Whether a provider built against {@code providerVersion} runs on this SPI: the same
     * major version and a minor version no newer than ours.
     */
    public static boolean compatible(String providerVersion) {
        int[] ours = parse(VERSION);
        int[] theirs = parse(providerVersion);
        return theirs != null && theirs[0] == ours[0] && theirs[1] <= ours[1];
    }

    private static int[] parse(String v) {
        if (v == null) {
            return null;
        }
        int dot = v.indexOf('.');
        try {
            return dot < 0 ? new int[] {Integer.parseInt(v), 0}
                    : new int[] {Integer.parseInt(v.substring(0, dot)), Integer.parseInt(v.substring(dot + 1))};
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
