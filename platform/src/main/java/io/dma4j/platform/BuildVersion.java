package io.dma4j.platform;

/**
 * The version a class was built as: its module's version (set from the project version at
 * build time), else its jar's {@code Implementation-Version}, else "dev" (classes not in a jar).
 *
 * <p>Thread safety: stateless.
 */
public final class BuildVersion {
    private BuildVersion() {
    }

    /** The build version of {@code type}. */
    public static String of(Class<?> type) {
        Module m = type.getModule();
        if (m.isNamed() && m.getDescriptor() != null && m.getDescriptor().rawVersion().isPresent()) {
            return m.getDescriptor().rawVersion().get();
        }
        String v = type.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
