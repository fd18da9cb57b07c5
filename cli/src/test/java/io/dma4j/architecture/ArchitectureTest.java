package io.dma4j.architecture;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * DESIGN.md's dependency rules, at package level, over the main classes of every module
 * (the module descriptors hold them at module level; these also hold inside a module, and
 * on the class path). A rule that breaks fails the build; {@link #theRulesCatchAViolation}
 * shows that they can.
 */
@AnalyzeClasses(packages = {"io.dma4j", "com.example"}, importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {
    private static final String JAVA = "java..";
    /** The JDK's Flight Recorder: every layer may emit events (they cost nothing unless recorded). */
    private static final String JFR = "jdk.jfr..";

    /** platform depends on nothing of dma4j. */
    @ArchTest
    static final ArchRule PLATFORM_IS_THE_BOTTOM = classes().that().resideInAPackage("io.dma4j.platform..")
            .should().onlyDependOnClassesThat().resideInAnyPackage("io.dma4j.platform..", JAVA, JFR, "com.fasterxml.jackson..");

    /** api requires platform only. */
    @ArchTest
    static final ArchRule API_ON_PLATFORM = classes().that().resideInAPackage("io.dma4j.api..")
            .should().onlyDependOnClassesThat().resideInAnyPackage("io.dma4j.api..", "io.dma4j.platform..", JAVA);

    /** spi requires api (and platform through it); no Guice, no runtime. */
    @ArchTest
    static final ArchRule SPI_ON_API = classes().that().resideInAPackage("io.dma4j.spi..")
            .should().onlyDependOnClassesThat().resideInAnyPackage("io.dma4j.spi..", "io.dma4j.api..", "io.dma4j.platform..", JAVA);

    /** A provider requires the SPI only: never the runtime, the kit, a driver or a device model. */
    @ArchTest
    static final ArchRule PROVIDERS_ON_SPI = classes().that().resideInAnyPackage("io.dma4j.provider..", "com.example..")
            .should().onlyDependOnClassesThat().resideInAnyPackage("io.dma4j.provider..", "com.example..", "io.dma4j.spi..", "io.dma4j.api",
                    "io.dma4j.platform..", JAVA, JFR);

    /** A provider never requires another provider: other roles come through the SPI. */
    @ArchTest
    static final ArchRule PROVIDERS_APART = slices().matching("io.dma4j.provider.(*)..").should().notDependOnEachOther();

    /** Drivers require the API and the platform (and the hardware interfaces they speak): never the SPI, the runtime, a provider, a device model. */
    @ArchTest
    static final ArchRule DRIVERS_ON_API = classes().that().resideInAPackage("io.dma4j.consumers..")
            .should().onlyDependOnClassesThat().resideInAnyPackage("io.dma4j.consumers..", "io.dma4j.hw..", "io.dma4j.api", "io.dma4j.platform..", JAVA, JFR);

    /** Device models require the platform only (and their hardware interface). */
    @ArchTest
    static final ArchRule DEVICE_MODELS_ON_PLATFORM = classes().that().resideInAPackage("io.dma4j.devices..")
            .should().onlyDependOnClassesThat().resideInAnyPackage("io.dma4j.devices..", "io.dma4j.hw..", "io.dma4j.platform..", JAVA);

    /** Hardware interfaces (register layouts, command formats) depend on nothing of dma4j. */
    @ArchTest
    static final ArchRule HARDWARE_INTERFACES_STAND_ALONE = classes().that().resideInAPackage("io.dma4j.hw..")
            .should().onlyDependOnClassesThat().resideInAnyPackage("io.dma4j.hw..", JAVA);

    /** Only the runtime knows Guice. */
    @ArchTest
    static final ArchRule GUICE_ONLY_IN_RUNTIME = noClasses().that().resideOutsideOfPackage("io.dma4j.runtime..")
            .should().dependOnClassesThat().resideInAnyPackage("com.google.inject..", "jakarta.inject..");

    /** The writable side of the mapping states is the SPI's alone. */
    @ArchTest
    static final ArchRule STATE_WRITES_THROUGH_THE_SPI = noClasses().that().resideOutsideOfPackages("io.dma4j.api..", "io.dma4j.spi..")
            .should().dependOnClassesThat().resideInAPackage("io.dma4j.api.internal..");

    @Test
    void theRulesCatchAViolation() {
        // a driver that reaches into a device model and into the runtime: test sources, so not part of the imports above
        JavaClasses bad = new ClassFileImporter().importClasses(io.dma4j.consumers.archfixture.DriverThatCheats.class);
        EvaluationResult r = DRIVERS_ON_API.evaluate(bad);
        assertThat(r.hasViolation()).isTrue();
        assertThat(r.getFailureReport().getDetails()).anyMatch(d -> d.contains("io.dma4j.devices.nvme.NvmeController"))
                .anyMatch(d -> d.contains("io.dma4j.runtime.DmaRuntime"));
        assertThat(GUICE_ONLY_IN_RUNTIME.evaluate(bad).hasViolation()).isFalse();
        assertThat(DRIVERS_ON_API.evaluate(new ClassFileImporter().importClasses(io.dma4j.consumers.nvme.NvmeDriver.class)).hasViolation()).isFalse();
    }
}
