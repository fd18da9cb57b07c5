package io.dma4j.conformance;

import io.dma4j.api.P2pMapType;
import io.dma4j.platform.Machine;
import io.dma4j.platform.pci.Bar;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.P2pClassifier;
import io.dma4j.spi.ProviderSettings;
import io.dma4j.spi.RoleContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The contract of a P2P classifier (the kernel's p2pdma distance rules) on the kit
 * machine, whose host bridge does not forward peer traffic.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class P2pClassifierContract {
    protected Machine machine;
    protected P2pClassifier p2p;

    /** The provider under test. */
    protected abstract DmaProvider provider();

    @BeforeEach
    final void createClassifier() {
        machine = Machine.createDefault();
        p2p = provider().createP2pClassifier(new RoleContext(machine, ProviderSettings.EMPTY));
    }

    @AfterEach
    final void closeMachine() {
        machine.close();
    }

    private Bar cmb() {
        return machine.device("nvme0").bar(2);
    }

    @Test
    @Tag("required")
    @DisplayName("required: pci_p2pdma_map_type — peers below one switch, no ACS redirect, use the bus address")
    void required_sameSwitch_busAddress() {
        assertEquals(P2pMapType.BUS_ADDR, p2p.classify(machine.device("rnic0"), cmb()));
    }

    @Test
    @Tag("required")
    @DisplayName("required: pci_p2pdma_map_type — across a host bridge that does not forward, not supported")
    void required_hostBridgeWithoutForwarding_notSupported() {
        assertEquals(P2pMapType.NOT_SUPPORTED, p2p.classify(machine.device("dmatest0"), cmb()));
        assertFalse(p2p.explain(machine.device("dmatest0"), cmb()).isBlank(), "explain must give a reason");
    }

    @Test
    @Tag("required")
    @DisplayName("required: a classifier never answers NONE for peer memory")
    void required_neverNone() {
        for (var d : machine.devices()) {
            if (!d.name().equals("nvme0")) {
                assertNotEquals(P2pMapType.NONE, p2p.classify(d, cmb()), d.name());
            }
        }
    }

    @Test
    @Tag("required")
    @DisplayName("required: a hot-removed provider is not reachable")
    void required_hotRemoved_notSupported() {
        machine.claimControl().hotRemove("nvme0");
        assertEquals(P2pMapType.NOT_SUPPORTED, p2p.classify(machine.device("rnic0"), cmb()));
    }
}
