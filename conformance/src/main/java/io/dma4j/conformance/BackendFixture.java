package io.dma4j.conformance;

import io.dma4j.api.DmaMapper;
import io.dma4j.platform.Machine;
import io.dma4j.platform.MachineControl;
import io.dma4j.platform.device.CopyEngine;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.MapperChain;
import io.dma4j.runtime.RuntimeConfig;
import io.dma4j.spi.BackendContext;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.MappingBackend;
import io.dma4j.spi.ProviderSettings;
import io.dma4j.spi.ReferenceBounceService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInstance;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the mapping-backend contracts share: a fresh machine per test (the built-in one
 * unless {@link #createMachine()} says otherwise), the provider's backend for one of its
 * copy engines (with the SPI's reference bounce role wired in), and helpers that make the
 * device move bytes. The backend is reached one of two ways ({@link #path()}): directly,
 * through the runtime's generic layer only ({@link MapperChain#bare}), or through a
 * runtime's whole chain with DMA-debug on in throwing mode, so that a rule also proves
 * the provider uses the API as DMA-debug expects. Vendors do not extend this directly.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class BackendFixture {
    /** The copy engines of the built-in machine the kit may use, in order of preference. */
    protected static final List<String> COPY_ENGINES = List.of("dmatest0", "dmatest1");

    /** How the contract reaches the backend. */
    public enum Path {
        /** The backend built through the SPI, behind the runtime's generic layer only. */
        BACKEND,
        /** A {@link DmaRuntime} with the provider as the device's backend: validation, DMA-debug (throwing), statistics. */
        RUNTIME_CHAIN
    }

    protected Machine machine;
    protected PhysicalAddressSpace cpu;
    protected Device device;
    /** The DMA API for the device, on the provider's backend. */
    protected DmaMapper backend;
    private MappingBackend raw;
    private DmaRuntime runtime;

    /** The provider under test (a fresh instance each time is fine). */
    protected abstract DmaProvider provider();

    /** What the provider can do; tests needing anything else are skipped. */
    protected Set<Capability> capabilities() {
        return Set.of();
    }

    /** The provider's settings for the run. */
    protected ProviderSettings settings() {
        return ProviderSettings.EMPTY;
    }

    /** How the tests reach the backend (by default directly). */
    protected Path path() {
        return Path.BACKEND;
    }

    /**
     * The machine for one test: the built-in one by default, or the one a launcher run was
     * given ({@code dmactl conformance --machine FILE}). Override to use a vendor's machine;
     * it must have the copy engines {@link #COPY_ENGINES} (copy its description from the
     * built-in one).
     */
    protected Machine createMachine() {
        return KitTarget.machine();
    }

    @BeforeEach
    final void createBackend() {
        machine = createMachine();
        cpu = machine.addressSpace();
        DmaProvider p = provider();
        for (String name : COPY_ENGINES) {
            if (machine.devices().stream().anyMatch(d -> d.name().equals(name)) && p.canServe(machine, machine.device(name))) {
                device = machine.device(name);
                break;
            }
        }
        if (device == null) {
            machine.close();
            machine = null;
            Assumptions.abort("provider " + p.name() + " serves none of the kit's copy engines " + COPY_ENGINES);
        }
        if (path() == Path.BACKEND) {
            MachineControl control = machine.claimControl();
            Device.Control dc = control.device(device.name());
            raw = p.createBackend(new BackendContext(machine, dc, new ReferenceBounceService(machine), null, settings()));
            backend = MapperChain.bare(machine, dc, null, raw);
        } else {
            Map<String, String> config = new HashMap<>();
            config.put(RuntimeConfig.DEBUG, "true");
            config.put(RuntimeConfig.STATS, "true");
            config.put(RuntimeConfig.BACKEND + "." + device.name(), p.name());
            settings().values().forEach((k, v) -> config.put("dma4j." + p.name() + "." + k, v));
            runtime = DmaRuntime.builder().machine(machine).discover(false).addProvider(p).addProvider(new ReferenceBounceProvider())
                    .config(RuntimeConfig.of(config)).build();
            backend = runtime.mapper(device.name());
        }
    }

    @AfterEach
    final void releaseBackend() {
        try {
            if (runtime != null) {
                runtime.release(device.name()); // throws for leaked mappings: DMA-debug is throwing
            } else if (raw != null) {
                raw.release();
            }
        } finally {
            if (runtime != null) {
                runtime.close();
            }
            if (machine != null) {
                machine.close();
            }
            runtime = null;
            raw = null;
            backend = null;
            device = null;
            machine = null;
        }
    }
    /** Skips the test, with the reason, unless the provider declares the capability. */
    protected final void require(Capability c) {
        Assumptions.assumeTrue(capabilities().contains(c), "the provider does not declare " + c);
    }

    /** The device copies {@code len} bytes between two of its DMA addresses; the engine's status. */
    protected final long deviceCopy(long src, long dst, long len) {
        return CopyEngine.copy(cpu, device.bar(0), src, dst, len);
    }

    /** A fresh zeroed block of 2^order pages. */
    protected final long pages(int order) {
        return machine.pageAllocator().allocPages(order);
    }

    protected final void fill(long phys, long len, int seed) {
        for (long i = 0; i < len; i += 8) {
            cpu.writeLong(phys + i, seed * 0x9E3779B97F4A7C15L + i);
        }
    }

    /** Whether {@code len} bytes at {@code phys} hold the pattern {@link #fill} wrote. */
    protected final boolean holds(long phys, long len, int seed) {
        for (long i = 0; i < len; i += 8) {
            if (cpu.readLong(phys + i) != seed * 0x9E3779B97F4A7C15L + i) {
                return false;
            }
        }
        return true;
    }
}
