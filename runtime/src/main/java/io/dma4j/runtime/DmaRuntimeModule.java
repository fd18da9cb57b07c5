package io.dma4j.runtime;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import io.dma4j.platform.Machine;
import io.dma4j.platform.description.MachineDescriptionParser;
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

    /**
     * @param config  the configuration
     * @param machine a machine the caller owns, or {@code null} to build one from the configuration
     * @param added   providers to add to those discovered
     */
    public DmaRuntimeModule(RuntimeConfig config, Machine machine, List<DmaProvider> added) {
        this.config = config;
        this.machine = machine;
        this.added = List.copyOf(added);
    }

    @Override
    protected void configure() {
        bind(RuntimeConfig.class).toInstance(config);
    }

    @Provides
    @Singleton
    MachineHolder machineHolder() {
        if (machine != null) {
            return new MachineHolder(machine, false);
        }
        String file = config.get(RuntimeConfig.MACHINE);
        return new MachineHolder(file == null ? Machine.create(MachineDescriptionParser.defaultDescription()) : Machine.load(Path.of(file)), true);
    }

    @Provides
    Machine machine(MachineHolder holder) {
        return holder.machine();
    }

    @Provides
    @Singleton
    ProviderRegistry registry() {
        String dir = config.get(RuntimeConfig.PROVIDERS_DIR);
        List<DiscoveredProvider> found = new ArrayList<>(ProviderDiscovery.discover(dir == null ? null : Path.of(dir)));
        for (DmaProvider p : added) {
            ProviderDiscovery.add(found, new DiscoveredProvider(p, "added", p.getClass().getName()));
        }
        return new ProviderRegistry(found);
    }

    /** The machine and whether the runtime closes it. */
    record MachineHolder(Machine machine, boolean owned) {
    }
}
