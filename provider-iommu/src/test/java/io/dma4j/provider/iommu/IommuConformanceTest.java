package io.dma4j.provider.iommu;

import io.dma4j.conformance.Capability;
import io.dma4j.conformance.MappingBackendContract;
import io.dma4j.conformance.TwoStepContract;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.ProviderSettings;
import org.junit.jupiter.api.Nested;

import java.util.Map;
import java.util.Set;

/** dma-iommu runs the kit in both invalidation modes. */
class IommuConformanceTest {
    @Nested
    class Lazy extends MappingBackendContract {
        @Override
        protected DmaProvider provider() {
            return new IommuProvider();
        }

        @Override
        protected Set<Capability> capabilities() {
            return Set.of(Capability.TWO_STEP, Capability.TRANSLATES);
        }
    }

    @Nested
    class Strict extends MappingBackendContract {
        @Override
        protected DmaProvider provider() {
            return new IommuProvider();
        }

        @Override
        protected Set<Capability> capabilities() {
            return Set.of(Capability.TWO_STEP, Capability.TRANSLATES);
        }

        @Override
        protected ProviderSettings settings() {
            return new ProviderSettings(Map.of("mode", "strict"));
        }
    }

    @Nested
    class LazyTwoStep extends TwoStepContract {
        @Override
        protected DmaProvider provider() {
            return new IommuProvider();
        }

        @Override
        protected Set<Capability> capabilities() {
            return Set.of(Capability.TWO_STEP, Capability.TRANSLATES);
        }
    }

    @Nested
    class StrictTwoStep extends TwoStepContract {
        @Override
        protected DmaProvider provider() {
            return new IommuProvider();
        }

        @Override
        protected Set<Capability> capabilities() {
            return Set.of(Capability.TWO_STEP, Capability.TRANSLATES);
        }

        @Override
        protected ProviderSettings settings() {
            return new ProviderSettings(Map.of("mode", "strict"));
        }
    }

    /** Lazy, through a runtime's whole chain with DMA-debug throwing. */
    @Nested
    class LazyThroughTheChain extends Lazy {
        @Override
        protected Path path() {
            return Path.RUNTIME_CHAIN;
        }
    }

    /** Strict two-step, through the chain. */
    @Nested
    class StrictTwoStepThroughTheChain extends StrictTwoStep {
        @Override
        protected Path path() {
            return Path.RUNTIME_CHAIN;
        }
    }
}
