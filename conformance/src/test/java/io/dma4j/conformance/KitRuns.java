package io.dma4j.conformance;

import io.dma4j.spi.DmaProvider;

import java.util.Set;

/**
 * The kit run against toy providers, correct and broken. These classes are not picked up
 * by the build's test run (their names do not end in Test); {@link KitSelfTest} runs them
 * through the JUnit Platform test kit and checks which rules fail.
 */
final class KitRuns {
    private KitRuns() {
    }

    static class CorrectDirectRun extends MappingBackendContract {
        @Override
        protected DmaProvider provider() {
            return new ToyBackend.Provider("toy", false, ToyBackend.Flaw.NONE);
        }
    }

    static class IgnoresMaskRun extends MappingBackendContract {
        @Override
        protected DmaProvider provider() {
            return new ToyBackend.Provider("toy", false, ToyBackend.Flaw.IGNORES_MASK);
        }
    }

    static class CorrectIommuRun extends MappingBackendContract {
        @Override
        protected DmaProvider provider() {
            return new ToyBackend.Provider("toy", true, ToyBackend.Flaw.NONE);
        }

        @Override
        protected Set<Capability> capabilities() {
            return Set.of(Capability.TRANSLATES);
        }
    }

    static class ForgetsToFlushRun extends CorrectIommuRun {
        @Override
        protected DmaProvider provider() {
            return new ToyBackend.Provider("toy", true, ToyBackend.Flaw.FORGETS_TO_FLUSH);
        }
    }

    static class ReusesIovaRun extends CorrectIommuRun {
        @Override
        protected DmaProvider provider() {
            return new ToyBackend.Provider("toy", true, ToyBackend.Flaw.REUSES_IOVA);
        }
    }

    static class RoundsDownRun extends CorrectIommuRun {
        @Override
        protected DmaProvider provider() {
            return new ToyBackend.Provider("toy", true, ToyBackend.Flaw.ROUNDS_DOWN);
        }
    }

    static class UnmapsAnythingRun extends CorrectIommuRun {
        @Override
        protected DmaProvider provider() {
            return new ToyBackend.Provider("toy", true, ToyBackend.Flaw.UNMAPS_ANYTHING);
        }
    }

    static class CoherentIgnoresMaskRun extends MappingBackendContract {
        @Override
        protected DmaProvider provider() {
            return new ToyBackend.Provider("toy", false, ToyBackend.Flaw.COHERENT_IGNORES_MASK);
        }
    }

    /** The correct translating toy through a runtime's whole chain, DMA-debug throwing. */
    static class CorrectIommuChainRun extends CorrectIommuRun {
        @Override
        protected Path path() {
            return Path.RUNTIME_CHAIN;
        }
    }

    /** Through the chain, DMA-debug refuses the foreign unmap before the careless backend sees it. */
    static class UnmapsAnythingChainRun extends UnmapsAnythingRun {
        @Override
        protected Path path() {
            return Path.RUNTIME_CHAIN;
        }
    }

    static class CorrectBounceRun extends BounceServiceContract {
        @Override
        protected DmaProvider provider() {
            return new ToyBounceProvider(true);
        }
    }

    static class NeverCopiesBackRun extends BounceServiceContract {
        @Override
        protected DmaProvider provider() {
            return new ToyBounceProvider(false);
        }
    }
}
