package io.dma4j.runtime;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import io.dma4j.platform.Machine;
import io.dma4j.platform.description.MachineDescriptionParser;
import io.dma4j.spi.DmaClock;
import io.dma4j.spi.DmaProvider;
import jakarta.inject.Singleton;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The Guice module that assembles a {@link DmaRuntime}: the configuration, the machine
 * (given, or read from {@code dma4j.machine}, or the built-in default), the providers
 * (discovered, plus any added) and, through just-in-time bindings, the role wiring,
 * backend selection and the runtime itself. Combine it with modules of your own, or
 * override bindings with {@code Modules.override}.
 *
 * <p>Thread safety: a module is configured once by Guice.
 */
public final class DmaRuntimeModule extends AbstractModule {
    private final RuntimeConfig config;
    private final Machine machine;
    private final List<DmaProvider> added;
    private final boolean discover;
    private final DmaClock clock;
    private volatile MachineHolder holder;

    /**
     * @param config  the configuration
     * @param machine a machine the caller owns, or {@code null} to build one from the configuration
     * @param added   providers to add to those discovered
     */
    public DmaRuntimeModule(RuntimeConfig config, Machine machine, List<DmaProvider> added) {
        this(config, machine, added, true, DmaClock.SYSTEM);
    }

    /**
     * @param config   the configuration
     * @param machine  a machine the caller owns, or {@code null} to build one from the configuration
     * @param added    providers to add to those discovered
     * @param discover whether to discover providers at all
     * @param clock    the clock handed to providers
     */
    public DmaRuntimeModule(RuntimeConfig config, Machine machine, List<DmaProvider> added, boolean discover, DmaClock clock) {
        this.config = config;
        this.machine = machine;
        this.added = List.copyOf(added);
        this.discover = discover;
        this.clock = clock;
    }

    @Override
    protected void configure() {
        bind(RuntimeConfig.class).toInstance(config);
        bind(DmaClock.class).toInstance(clock);
    }

    @Provides
    @Singleton
    MachineHolder machineHolder() {
        if (machine != null) {
            holder = new MachineHolder(machine, machine.claimControl(), false);
            return holder;
        }
        String file = config.get(RuntimeConfig.MACHINE);
        Machine m = file == null ? Machine.create(MachineDescriptionParser.defaultDescription()) : Machine.load(Path.of(file));
        holder = new MachineHolder(m, m.claimControl(), true);
        return holder;
    }

    /** A build that failed: the machine it built is closed, a caller's machine gets its control back. */
    void abandon() {
        MachineHolder h = holder;
        holder = null;
        if (h != null) {
            if (h.owned()) {
                h.machine().close();
            } else {
                h.control().giveBack();
            }
        }
    }

    @Provides
    Machine machine(MachineHolder holder) {
        return holder.machine();
    }

    @Provides
    @Singleton
    ProviderRegistry registry() {
        String dir = config.get(RuntimeConfig.PROVIDERS_DIR);
        List<DiscoveredProvider> found = discover ? new ArrayList<>(ProviderDiscovery.discover(dir == null ? null : Path.of(dir))) : new ArrayList<>();
        for (DmaProvider p : added) {
            ProviderDiscovery.add(found, new DiscoveredProvider(p, "added", p.getClass().getName()));
        }
        return new ProviderRegistry(found);
    }

    /** The machine, its control (which the runtime holds), and whether the runtime closes it. */
    record MachineHolder(Machine machine, io.dma4j.platform.MachineControl control, boolean owned) {
    }
}
