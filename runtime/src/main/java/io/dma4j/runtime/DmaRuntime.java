package io.dma4j.runtime;

import com.google.inject.CreationException;
import com.google.inject.Guice;
import com.google.inject.ProvisionException;
import com.google.inject.spi.Message;
import io.dma4j.api.DmaMapper;
import io.dma4j.platform.Machine;
import io.dma4j.platform.device.Device;
import io.dma4j.spi.BackendContext;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.MappingBackend;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The assembled DMA layer of one machine: providers, role wiring, a mapper per device.
 * {@link #mapper(String)} gives a device's {@link DmaMapper}, created on first use with
 * the backend {@link BackendSelector} chooses, wrapped with argument validation, DMA-debug
 * checks ({@code dma4j.debug}) and statistics ({@code dma4j.stats}).
 *
 * <pre>{@code
 * try (DmaRuntime rt = DmaRuntime.builder().build()) {          // default machine, discovered providers
 *     DmaMapper m = rt.mapper("dmatest0");
 *     long dma = m.mapPhys(phys, 4096, DmaDirection.TO_DEVICE, DmaAttrs.NONE);
 *     ...
 *     m.unmapPhys(dma, 4096, DmaDirection.TO_DEVICE, DmaAttrs.NONE);
 * }
 * }</pre>
 *
 * <p>Thread safety: safe for concurrent use.
 */
@Singleton
public final class DmaRuntime implements AutoCloseable {
    private final Machine machine;
    private final boolean ownsMachine;
    private final RuntimeConfig config;
    private final ProviderRegistry registry;
    private final RoleWiring roles;
    private final BackendSelector selector;
    private final boolean debug;
    private final boolean debugThrows;
    private final boolean stats;
    private final Map<String, DeviceMapper> mappers = new ConcurrentHashMap<>();
    private final List<DebugReport> reports = new ArrayList<>();
    private final Consumer<DebugReport> sink = this::addReport;

    @Inject
    DmaRuntime(DmaRuntimeModule.MachineHolder machine, RuntimeConfig config, ProviderRegistry registry, RoleWiring roles, BackendSelector selector) {
        this.machine = machine.machine();
        this.ownsMachine = machine.owned();
        this.config = config;
        this.registry = registry;
        this.roles = roles;
        this.selector = selector;
        Map<String, Device> devs = new LinkedHashMap<>();
        for (Device d : this.machine.devices()) {
            devs.put(d.name(), d);
        }
        try {
            config.validate(new HashSet<>(registry.names()), devs.keySet());
            this.debug = config.flag(RuntimeConfig.DEBUG, true);
            this.debugThrows = config.debugThrows();
            this.stats = config.flag(RuntimeConfig.STATS, true);
        } catch (IllegalArgumentException e) {
            throw new DmaConfigurationException(e.getMessage(), e);
        }
    }

    /** A builder; see {@link Builder}. */
    public static Builder builder() {
        return new Builder();
    }

    /** The machine. */
    public Machine machine() {
        return machine;
    }

    /** The configuration in force. */
    public RuntimeConfig config() {
        return config;
    }

    /** All known providers. */
    public List<DiscoveredProvider> providers() {
        return registry.all();
    }

    /** The machine-wide roles. */
    public RoleWiring roles() {
        return roles;
    }

    /** The peer-memory allocator of the P2P role, or {@code null} when the installed P2P provider offers none. */
    public io.dma4j.api.PeerMemoryAllocator peerMemory() {
        return roles.p2p() instanceof io.dma4j.api.PeerMemoryAllocator pma ? pma : null;
    }

    /** The provider that maps (or would map) for a device. */
    public DiscoveredProvider backendFor(String device) {
        DeviceMapper m = mappers.get(device);
        return m != null ? registry.byName(m.backend().providerName()) : selector.select(machine.device(device));
    }

    /**
     * The mapper of a device, created on first use.
     *
     * @throws IllegalArgumentException   when the machine has no such device
     * @throws DmaConfigurationException  when no backend can serve it as configured
     */
    public DeviceMapper mapper(String device) {
        Objects.requireNonNull(device, "device");
        DeviceMapper m = mappers.get(device);
        return m != null ? m : mappers.computeIfAbsent(device, this::create);
    }

    private DeviceMapper create(String name) {
        Device device = machine.device(name);
        DiscoveredProvider p = selector.select(device);
        DmaProvider provider = p.provider();
        MappingBackend backend = provider.createBackend(new BackendContext(machine, device, roles.bounce(), roles.p2p(), config.settingsFor(provider.name())));
        DmaDebug dbg = debug ? new DmaDebug(device, machine.addressSpace(), debugThrows, sink) : null;
        return new DeviceMapper(device, backend, dbg, stats ? new DeviceStatistics() : null);
    }

    /** The mappers created so far, by device name. */
    public Map<String, DeviceMapper> mappers() {
        return Map.copyOf(mappers);
    }

    /**
     * Releases a device (a driver unbinding): leaked mappings are reported, the backend
     * detaches. A later {@link #mapper} creates a fresh mapper.
     *
     * @throws io.dma4j.api.DmaApiMisuseException in throwing debug mode when mappings leaked
     */
    public void release(String device) {
        DeviceMapper m = mappers.remove(device);
        if (m != null) {
            m.release();
        }
    }

    /** Every DMA-debug report so far (in throwing mode these were also thrown). */
    public synchronized List<DebugReport> debugReports() {
        return List.copyOf(reports);
    }

    private synchronized void addReport(DebugReport r) {
        reports.add(r);
    }

    /**
     * Statistics of one device: the runtime's counters, the backend's gauges (prefixed
     * "backend."), the bounce pool's (prefixed "bounce.") and the device's faults and DMA
     * traffic.
     */
    public Map<String, Long> statistics(String device) {
        Map<String, Long> out = new LinkedHashMap<>();
        DeviceMapper m = mappers.get(device);
        if (m != null && m.statistics() != null) {
            out.putAll(m.statistics().snapshot());
        }
        if (m != null) {
            m.backend().gauges().forEach((k, v) -> out.put("backend." + k, v));
        }
        if (roles.bounce() != null) {
            roles.bounce().gauges().forEach((k, v) -> out.put("bounce." + k, v));
        }
        Device d = machine.device(device);
        out.put("faults", d.port().faultCount());
        out.put("deviceBytesRead", d.port().bytesRead());
        out.put("deviceBytesWritten", d.port().bytesWritten());
        return out;
    }

    /**
     * Releases every device (reporting leaks, without throwing for them) and closes the
     * machine if the runtime built it.
     */
    @Override
    public void close() {
        for (String name : List.copyOf(mappers.keySet())) {
            try {
                release(name);
            } catch (RuntimeException e) {
                // reported and recorded in debugReports(); closing goes on
            }
        }
        if (ownsMachine) {
            machine.close();
        }
    }

    /**
     * Builds a runtime with the plain API (Guice stays inside). Defaults: configuration
     * from {@code -D dma4j.*} system properties, the machine from {@code dma4j.machine} or
     * the built-in default, providers discovered on the module path, class path and
     * {@code dma4j.providers.dir}.
     *
     * <p>Not thread-safe.
     */
    public static final class Builder {
        private RuntimeConfig config;
        private Machine machine;
        private final List<DmaProvider> added = new ArrayList<>();

        private Builder() {
        }

        /** Uses this configuration instead of the system properties (call {@link RuntimeConfig#withSystemOverrides()} to keep them). */
        public Builder config(RuntimeConfig config) {
            this.config = Objects.requireNonNull(config);
            return this;
        }

        /** Uses a machine the caller owns (the runtime will not close it). */
        public Builder machine(Machine machine) {
            this.machine = Objects.requireNonNull(machine);
            return this;
        }

        /** Adds a provider to the discovered ones (its name must be unique). */
        public Builder addProvider(DmaProvider provider) {
            added.add(Objects.requireNonNull(provider));
            return this;
        }

        /**
         * Assembles the runtime.
         *
         * @throws DmaConfigurationException for configuration and discovery problems
         * @throws io.dma4j.platform.description.MachineDescriptionException for a bad machine file
         */
        public DmaRuntime build() {
            RuntimeConfig c = config != null ? config : RuntimeConfig.defaults().withSystemOverrides();
            try {
                return Guice.createInjector(new DmaRuntimeModule(c, machine, added)).getInstance(DmaRuntime.class);
            } catch (ProvisionException e) {
                throw unwrap(e.getErrorMessages(), e);
            } catch (CreationException e) {
                throw unwrap(e.getErrorMessages(), e);
            }
        }

        private static RuntimeException unwrap(Iterable<Message> messages, RuntimeException e) {
            for (Message m : messages) {
                Throwable cause = m.getCause();
                while (cause != null && (cause instanceof ProvisionException || cause instanceof CreationException)) {
                    cause = cause.getCause();
                }
                if (cause instanceof RuntimeException re) {
                    return re;
                }
            }
            return e;
        }
    }
}
