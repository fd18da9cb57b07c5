package io.dma4j.conformance;

import io.dma4j.api.IovaState;
import io.dma4j.platform.Machine;
import io.dma4j.platform.MachineControl;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.device.DmaTranslation;
import io.dma4j.spi.BackendContext;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.MappingBackend;
import io.dma4j.spi.ProviderSettings;
import io.dma4j.spi.ReferenceBounceService;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The provider a launcher-driven kit run tests ({@code dmactl conformance}): set it, then
 * run the {@code KitTarget*Run} classes with the JUnit Platform launcher. One target at a
 * time.
 *
 * <p>Thread safety: set before a run, read by the run's tests.
 */
public final class KitTarget {
    private static volatile DmaProvider provider;
    private static volatile Set<Capability> capabilities = Set.of();
    private static volatile java.nio.file.Path machineFile;

    private KitTarget() {
    }

    /** Sets the provider and its capabilities for the next run, on the built-in machine. */
    public static void set(DmaProvider p, Set<Capability> caps) {
        set(p, caps, null);
    }

    /**
     * Sets the provider, its capabilities and the machine description the run's tests use
     * ({@code null}: the built-in machine).
     */
    public static void set(DmaProvider p, Set<Capability> caps, java.nio.file.Path machine) {
        provider = p;
        capabilities = Set.copyOf(caps);
        machineFile = machine;
    }

    /** A fresh machine for one test: from the file set for this run, else the built-in one. */
    static Machine machine() {
        java.nio.file.Path f = machineFile;
        return f == null ? Machine.createDefault() : Machine.load(f);
    }

    static DmaProvider provider() {
        DmaProvider p = provider;
        if (p == null) {
            throw new IllegalStateException("no KitTarget set: call KitTarget.set before running the KitTarget*Run classes");
        }
        return p;
    }

    static Set<Capability> capabilities() {
        return capabilities;
    }

    /**
     * Finds out what a mapping backend can do, on the kit machine: {@link Capability#TWO_STEP}
     * when try-alloc answers true, {@link Capability#TRANSLATES} when the backend attaches a
     * translation of its own to the device.
     */
    public static Set<Capability> probe(DmaProvider p) {
        Set<Capability> caps = EnumSet.noneOf(Capability.class);
        try (Machine m = Machine.createDefault()) {
            MachineControl control = m.claimControl();
            for (String name : List.of("dmatest0", "dmatest1")) {
                Device d = m.device(name);
                if (!p.canServe(m, d)) {
                    continue;
                }
                DmaTranslation before = d.port().translation();
                MappingBackend b = p.createBackend(new BackendContext(m, control.device(name), new ReferenceBounceService(m), null, ProviderSettings.EMPTY));
                try {
                    if (d.port().translation() != before) {
                        caps.add(Capability.TRANSLATES);
                    }
                    IovaState st = new IovaState();
                    if (b.twoStep() != null && b.twoStep().tryAlloc(st, 0, 4096)) {
                        caps.add(Capability.TWO_STEP);
                        b.twoStep().free(st);
                    }
                } finally {
                    b.release();
                }
                break;
            }
        }
        return caps;
    }
}
