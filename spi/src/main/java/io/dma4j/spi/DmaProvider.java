package io.dma4j.spi;

import io.dma4j.platform.Machine;
import io.dma4j.platform.device.Device;

import java.util.Set;

/**
 * A provider of one or more DMA roles, found with {@link java.util.ServiceLoader}. Declare
 * it both ways so that it works on the module path and the class path:
 * <pre>{@code
 * module com.example.dma { requires io.dma4j.spi; provides io.dma4j.spi.DmaProvider with com.example.dma.MyProvider; }
 * // and META-INF/services/io.dma4j.spi.DmaProvider containing: com.example.dma.MyProvider
 * }</pre>
 * Every provider implements {@link #name()}, {@link #spiVersion()} and {@link #roles()}.
 * The class needs a public no-argument constructor (or a public static {@code provider()}
 * method on the module path). A provider implements the {@code create*} method of each
 * role it declares in {@link #roles()}; the runtime calls no other.
 *
 * <p>Thread safety: the runtime may call a provider from any thread; the objects it creates
 * state their own rules.
 */
public interface DmaProvider {
    /** A unique, stable name ("direct", "iommu", "acme-smmu"); used in configuration. */
    String name();

    /**
     * The SPI version this provider was built against: implement it as
     * {@code return DmaSpi.VERSION;}, which the compiler inlines, so the value is the one
     * of the SPI jar you compiled with. The runtime refuses an incompatible provider at
     * discovery ({@link DmaSpi#compatible}).
     */
    String spiVersion();

    /**
     * The provider's version: by default its module's version (set from the build's project
     * version), else its jar's {@code Implementation-Version}, else "dev" (classes not in a jar).
     */
    default String version() {
        return io.dma4j.platform.BuildVersion.of(getClass());
    }

    /** The roles this provider fills. */
    Set<DmaRole> roles();

    /**
     * When several providers can fill a role for a device, the highest priority wins
     * (direct is 0; an IOMMU backend, which serves only devices behind a translating unit,
     * is higher). Configuration overrides this.
     */
    default int priority() {
        return 0;
    }

    /** Whether this provider's mapping backend can serve {@code device} on {@code machine}. */
    default boolean canServe(Machine machine, Device device) {
        return roles().contains(DmaRole.MAPPING_BACKEND);
    }

    /**
     * Creates the mapping backend for one device.
     *
     * @throws IllegalStateException if this provider does not declare {@link DmaRole#MAPPING_BACKEND}
     */
    default MappingBackend createBackend(BackendContext context) {
        throw new IllegalStateException("provider " + name() + " does not fill the role " + DmaRole.MAPPING_BACKEND);
    }

    /**
     * Creates the machine's bounce-buffer service.
     *
     * @throws IllegalStateException if this provider does not declare {@link DmaRole#BOUNCE_SERVICE}
     */
    default BounceService createBounceService(RoleContext context) {
        throw new IllegalStateException("provider " + name() + " does not fill the role " + DmaRole.BOUNCE_SERVICE);
    }

    /**
     * Creates the machine's P2P classifier.
     *
     * @throws IllegalStateException if this provider does not declare {@link DmaRole#P2P_CLASSIFIER}
     */
    default P2pClassifier createP2pClassifier(RoleContext context) {
        throw new IllegalStateException("provider " + name() + " does not fill the role " + DmaRole.P2P_CLASSIFIER);
    }
}
