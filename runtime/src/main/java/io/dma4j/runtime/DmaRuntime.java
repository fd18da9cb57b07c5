package io.dma4j.runtime;

import com.google.inject.CreationException;
import com.google.inject.Guice;
import com.google.inject.ProvisionException;
import com.google.inject.spi.Message;
import io.dma4j.api.DmaMapper;
import io.dma4j.platform.Machine;
import io.dma4j.platform.MachineControl;
import io.dma4j.platform.device.Device;
import io.dma4j.spi.BackendContext;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.MappingBackend;
import io.dma4j.spi.Metric;
import io.dma4j.spi.Metrics;
import io.dma4j.spi.P2pClassifier;
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
 * {@link #mapper(String)} gives a device's {@link DmaMapper}, created on first use: a chain
 * of layers — argument validation, DMA-debug checks ({@code dma4j.debug}), statistics
 * ({@code dma4j.stats}) — in front of the mapping backend {@link BackendSelector} chose.
 * No public path reaches a backend without the chain. The runtime holds the machine's
 * {@link MachineControl}: masks change through {@link DmaMapper#setMask}, translations are
 * attached by backends, devices are hot-removed through {@link #hotRemove}.
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
    private final MachineControl control;
    private final boolean ownsMachine;
    private final RuntimeConfig config;
    private final ProviderRegistry registry;
    private final RoleWiring roles;
    private final BackendSelector selector;
    private final boolean debug;
    private final boolean debugThrows;
    private final boolean stats;
    private final boolean jfr;
    private final Map<String, MapperChain> mappers = new ConcurrentHashMap<>();
    private volatile boolean closed;
    private final List<DebugReport> reports = new ArrayList<>();
    private final Consumer<DebugReport> sink = this::addReport;

    private final io.dma4j.spi.DmaClock clock;

    /** What to add when no mapping backend was found (the warning at build and the error at mapper()). */
    static final String NO_BACKEND_ADVICE = "the runtime alone brings no providers: add io.dma4j:dma4j-provider-direct "
            + "(and dma4j-provider-iommu, dma4j-provider-swiotlb, dma4j-provider-p2p as needed) to the class path or module path";
    /** Whether the no-backend warning was printed in this JVM (package-private: tests reset it). */
    static final java.util.concurrent.atomic.AtomicBoolean WARNED_NO_BACKEND = new java.util.concurrent.atomic.AtomicBoolean();

    @Inject
    DmaRuntime(DmaRuntimeModule.MachineHolder machine, RuntimeConfig config, ProviderRegistry registry, RoleWiring roles, BackendSelector selector,
               io.dma4j.spi.DmaClock clock) {
        this.clock = clock;
        this.machine = machine.machine();
        this.control = machine.control();
        this.ownsMachine = machine.owned();
        this.config = config;
        this.registry = registry;
        this.roles = roles;
        this.selector = selector;
        Map<String, Device> devs = new LinkedHashMap<>();
        for (Device d : this.machine.devices()) {
            devs.put(d.name(), d);
        }
        if (registry.withRole(io.dma4j.spi.DmaRole.MAPPING_BACKEND).isEmpty() && WARNED_NO_BACKEND.compareAndSet(false, true)) {
            System.err.println("dma4j: WARNING: no mapping-backend provider was found; " + NO_BACKEND_ADVICE); // once per JVM, as SLF4J does
        }
        try {
            config.validate(new HashSet<>(registry.names()), devs.keySet());
            this.debug = config.flag(RuntimeConfig.DEBUG, true);
            this.debugThrows = config.debugThrows();
            this.stats = config.flag(RuntimeConfig.STATS, true);
            this.jfr = config.flag(RuntimeConfig.JFR, false);
            this.machine.faultInjector().configure(config.values()); // dma4j.fail.*: fault injection
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

    /** The provider of the bounce-buffer role, or {@code null} when none is installed. */
    public DiscoveredProvider bounceProvider() {
        return roles.bounceProvider();
    }

    /** The provider of the P2P role, or {@code null} when none is installed. */
    public DiscoveredProvider p2pProvider() {
        return roles.p2pProvider();
    }

    /** The P2P classifier (distances and map types; it maps nothing), or {@code null} when none is installed. */
    public P2pClassifier p2pClassifier() {
        return roles.p2p();
    }

    /** The peer-memory allocator of the P2P role, or {@code null} when the installed P2P provider offers none. */
    public io.dma4j.api.PeerMemoryAllocator peerMemory() {
        return roles.p2p() instanceof io.dma4j.api.PeerMemoryAllocator pma ? pma : null;
    }

    /** The provider that maps (or would map) for a device. */
    public DiscoveredProvider backendFor(String device) {
        MapperChain m = mappers.get(device);
        return m != null ? registry.byName(m.backend().providerName()) : selector.select(machine.device(device));
    }

    /**
     * The mapper of a device, created on first use: validation, DMA-debug (when on),
     * statistics (when on), then the backend.
     *
     * @throws IllegalArgumentException   when the machine has no such device
     * @throws DmaConfigurationException  when no backend can serve it as configured
     * @throws IllegalStateException      when the runtime is closed
     */
    public DmaMapper mapper(String device) {
        Objects.requireNonNull(device, "device");
        checkOpen();
        MapperChain m = mappers.get(device);
        return (m != null ? m : mappers.computeIfAbsent(device, this::create)).head();
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("this DmaRuntime is closed: build a new one");
        }
    }

    private MapperChain create(String name) {
        Device device = machine.device(name);
        DiscoveredProvider p = selector.select(device);
        DmaProvider provider = p.provider();
        Device.Control dc = control.device(name);
        MappingBackend backend = provider.createBackend(new BackendContext(machine, dc, roles.bounce(), roles.p2p(), config.settingsFor(provider.name()), clock));
        DmaDebug dbg = debug ? new DmaDebug(device, machine.addressSpace(), debugThrows, sink) : null;
        return MapperChain.build(machine, dc, roles.p2p(), backend, dbg, stats ? new DeviceStatistics() : null, jfr ? provider.name() : null);
    }

    /** The names of the devices whose mappers exist, in no particular order. */
    public java.util.Set<String> mappedDevices() {
        return java.util.Set.copyOf(mappers.keySet());
    }

    /** Whether DMA-debug checks are on for this runtime's mappers. */
    public boolean debugEnabled() {
        return debug;
    }

    /** Live mappings and IOVA states DMA-debug tracks for a device (0 with debug off or no mapper yet). */
    public int liveMappings(String device) {
        MapperChain m = mappers.get(device);
        return m == null ? 0 : m.liveMappings();
    }

    /**
     * Releases a device (a driver unbinding): leaked mappings are reported, the backend
     * detaches, and every later call on the released mapper throws
     * {@link IllegalStateException}. A later {@link #mapper} creates a fresh mapper.
     *
     * @throws io.dma4j.api.DmaApiMisuseException in throwing debug mode when mappings leaked
     */
    public void release(String device) {
        release(device, "this mapper was released (DmaRuntime.release): get a fresh one with DmaRuntime.mapper");
    }

    private void release(String device, String why) {
        MapperChain m = mappers.remove(device);
        if (m != null) {
            m.release(why);
        }
    }

    /**
     * Hot-removes a device (surprise removal, as the machine's control does it): its DMA
     * faults from now on, peers no longer reach its BARs, cached P2P classifications are
     * recomputed. Its mapper, if any, stays until {@link #release}.
     *
     * @throws IllegalArgumentException when there is no such device
     */
    public void hotRemove(String device) {
        control.hotRemove(device);
    }

    /** Every DMA-debug report so far (in throwing mode these were also thrown). */
    public synchronized List<DebugReport> debugReports() {
        return List.copyOf(reports);
    }

    private synchronized void addReport(DebugReport r) {
        reports.add(r);
    }

    /**
     * Statistics of one device: the runtime's counters (with {@code dma4j.stats} on and a
     * mapper created), the backend's gauges, the bounce pool's, and the device's faults and
     * DMA traffic, each under its {@link Metric} of {@link Metrics}.
     *
     * @throws IllegalArgumentException when the machine has no such device
     */
    public Statistics statistics(String device) {
        Device d = machine.device(device);
        Map<Metric, Long> out = new LinkedHashMap<>();
        MapperChain m = mappers.get(device);
        if (m != null) {
            m.writeTo(out::put);
        }
        if (roles.bounce() != null) {
            roles.bounce().gauges(out::put);
        }
        out.put(Metrics.FAULTS, d.port().faultCount());
        out.put(Metrics.DEVICE_BYTES_READ, d.port().bytesRead());
        out.put(Metrics.DEVICE_BYTES_WRITTEN, d.port().bytesWritten());
        return new Statistics(device, out);
    }

    /**
     * Releases every device (reporting leaks, without throwing for them) and closes the
     * machine if the runtime built it, or else gives the machine's control back so that
     * another runtime can take the caller's machine. Afterwards every call on this runtime's mappers, and
     * {@link #mapper}, throws {@link IllegalStateException}. Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        for (String name : List.copyOf(mappers.keySet())) {
            try {
                release(name, "the DmaRuntime of this mapper is closed");
            } catch (RuntimeException e) {
                // reported and recorded in debugReports(); closing goes on
            }
        }
        if (ownsMachine) {
            machine.close();
        } else {
            control.giveBack(); // the caller's machine can be taken by another runtime
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
        private boolean discover = true;
        private io.dma4j.spi.DmaClock clock = io.dma4j.spi.DmaClock.SYSTEM;

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

        /**
         * Whether to discover providers (module path, class path, {@code dma4j.providers.dir});
         * default true. With false only the {@link #addProvider added} ones are used.
         */
        public Builder discover(boolean discover) {
            this.discover = discover;
            return this;
        }

        /** The clock providers use for timers and time readings (default {@link io.dma4j.spi.DmaClock#SYSTEM}); tests pass a {@link io.dma4j.spi.ManualClock}. */
        public Builder clock(io.dma4j.spi.DmaClock clock) {
            this.clock = Objects.requireNonNull(clock);
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
            quietGuice();
            RuntimeConfig c = config != null ? config : RuntimeConfig.defaults().withSystemOverrides();
            DmaRuntimeModule module = new DmaRuntimeModule(c, machine, added, discover, clock);
            try {
                return Guice.createInjector(module).getInstance(DmaRuntime.class);
            } catch (ProvisionException e) {
                module.abandon();
                throw unwrap(e.getErrorMessages(), e);
            } catch (CreationException e) {
                module.abandon();
                throw unwrap(e.getErrorMessages(), e);
            } catch (RuntimeException | Error e) {
                module.abandon();
                throw e;
            }
        }

        /**
         * On the class path Guice generates fast constructors through {@code sun.misc.Unsafe},
         * which JDK 24+ warns about (JEP 498); the runtime needs none of that (no AOP), so it
         * turns bytecode generation off before Guice first loads, unless the program chose.
         */
        private static void quietGuice() {
            if (System.getProperty("guice_bytecode_gen_option") == null) {
                System.setProperty("guice_bytecode_gen_option", "DISABLED");
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
