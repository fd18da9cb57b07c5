package io.dma4j.conformance;

import io.dma4j.platform.Machine;
import io.dma4j.platform.device.CopyEngine;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.spi.BackendContext;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.MappingBackend;
import io.dma4j.spi.ProviderSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInstance;

import java.util.List;
import java.util.Set;

/**
 * What the mapping-backend contracts share: a fresh built-in machine per test, the
 * provider's backend for one of its copy engines (the reference bounce role wired in), and
 * helpers that make the device move bytes. Vendors do not extend this directly.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class BackendFixture {
    /** The copy engines of the built-in machine the kit may use, in order of preference. */
    protected static final List<String> COPY_ENGINES = List.of("dmatest0", "dmatest1");

    protected Machine machine;
    protected PhysicalAddressSpace cpu;
    protected Device device;
    protected MappingBackend backend;

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

    @BeforeEach
    final void createBackend() {
        machine = Machine.createDefault();
        cpu = machine.addressSpace();
        DmaProvider p = provider();
        for (String name : COPY_ENGINES) {
            if (p.canServe(machine, machine.device(name))) {
                device = machine.device(name);
                break;
            }
        }
        if (device == null) {
            machine.close();
            Assumptions.abort("provider " + p.name() + " serves none of the kit's copy engines " + COPY_ENGINES);
        }
        backend = p.createBackend(new BackendContext(machine, device, new ReferenceBounceService(machine), null, settings()));
    }

    @AfterEach
    final void releaseBackend() {
        if (backend != null) {
            backend.release();
        }
        if (machine != null) {
            machine.close();
        }
        backend = null;
        device = null;
        machine = null;
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
