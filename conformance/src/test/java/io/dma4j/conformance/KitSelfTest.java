package io.dma4j.conformance;

import org.junit.jupiter.api.Test;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;
import org.junit.platform.testkit.engine.Events;

import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/** The kit tests itself: each broken provider fails exactly the rules meant to catch it. */
class KitSelfTest {
    private static Events run(Class<?> kitRun) {
        return EngineTestKit.engine("junit-jupiter").selectors(selectClass(kitRun)).execute().testEvents();
    }

    private static Set<String> failed(Events events) {
        return events.failed().stream().map(KitSelfTest::method).collect(Collectors.toCollection(TreeSet::new));
    }

    private static String method(Event e) {
        return e.getTestDescriptor().getLegacyReportingName().replace("()", "");
    }

    @Test
    void correctProvidersPassEveryRuleTheyDeclare() {
        for (Class<?> c : new Class<?>[] {KitRuns.CorrectDirectRun.class, KitRuns.CorrectIommuRun.class, KitRuns.CorrectBounceRun.class,
                KitRuns.CorrectIommuChainRun.class}) {
            Events ev = run(c);
            assertThat(failed(ev)).as(c.getSimpleName()).isEmpty();
            assertThat(ev.succeeded().count()).as(c.getSimpleName()).isPositive();
        }
    }

    @Test
    void optionalRulesAreSkippedWithTheReasonNotPassed() {
        Events ev = run(KitRuns.CorrectDirectRun.class);
        assertThat(ev.skipped().count()).isZero();
        assertThat(ev.aborted().stream().map(KitSelfTest::method)).containsExactlyInAnyOrder("optional_unmap_unmappedAddressFaults", "optional_unmap_foreignAddressIsRefused");
        assertThat(ev.aborted().list().getFirst().getPayload(org.junit.platform.engine.TestExecutionResult.class).orElseThrow()
                .getThrowable().orElseThrow().getMessage()).contains("the provider does not declare TRANSLATES");
    }

    @Test
    void aBackendThatIgnoresTheMaskFailsTheMaskRule() {
        assertThat(failed(run(KitRuns.IgnoresMaskRun.class))).containsExactly("required_mask_neverExceeded");
    }

    @Test
    void aBackendThatForgetsToFlushFailsTheUnmapRule() {
        assertThat(failed(run(KitRuns.ForgetsToFlushRun.class))).containsExactly("optional_unmap_unmappedAddressFaults");
    }

    @Test
    void aBackendThatReusesIovaTooEarlyFailsTheConcurrencyRule() {
        assertThat(failed(run(KitRuns.ReusesIovaRun.class))).containsExactly("required_concurrentMappings_neverShareAnAddress");
    }

    @Test
    void aBackendThatSizesIovaCarelesslyFailsTheNoSharedRangeRule() {
        assertThat(failed(run(KitRuns.RoundsDownRun.class))).containsExactly("required_liveMappings_neverShareABusRange");
    }

    @Test
    void aBackendThatIgnoresTheCoherentMaskFailsTheCoherentMaskRule() {
        assertThat(failed(run(KitRuns.CoherentIgnoresMaskRun.class))).containsExactly("required_coherent_respectsTheCoherentMask");
    }

    @Test
    void aBackendThatUnmapsAnythingFailsTheForeignUnmapRule() {
        assertThat(failed(run(KitRuns.UnmapsAnythingRun.class))).containsExactly("optional_unmap_foreignAddressIsRefused");
        assertThat(failed(run(KitRuns.UnmapsAnythingChainRun.class))).as("DMA-debug in the chain refuses for it").isEmpty();
    }

    @Test
    void aBounceServiceThatNeverCopiesBackFailsTheCopyBackRules() {
        assertThat(failed(run(KitRuns.NeverCopiesBackRun.class)))
                .containsExactly("required_syncs_copyByDirectionAndRange", "required_unmap_copiesBackOnlyForDeviceWrites");
    }
}
