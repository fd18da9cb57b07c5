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
