package io.dma4j.spi;

import io.dma4j.api.P2pMapType;
import io.dma4j.api.P2pState;
import io.dma4j.platform.Machine;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.pci.Bar;

/**
 * Recognising peer memory for a backend: whether a physical address lies in another
 * device's memory BAR, and how the P2P role says this device reaches it. Shared by all
 * mapping backends so they classify alike ({@code pci_p2pdma_state}).
 *
 * <p>Thread safety: stateless; the {@link P2pState} belongs to one request.
 */
public final class PeerMemory {
    private PeerMemory() {
    }

    /** The memory BAR holding {@code [phys, phys+len)}, or {@code null} when that is RAM or not a memory BAR. */
    public static Bar barOf(Machine machine, long phys, long len) {
        if (machine.addressSpace().isDram(phys, len)) {
            return null;
        }
        Bar b = machine.barAt(phys);
        return b != null && b.kind() == Bar.Kind.MEMORY ? b : null;
    }

    /** How {@code client} reaches {@code peer}: {@link P2pMapType#NOT_SUPPORTED} when no P2P role is installed. */
    public static P2pMapType classify(P2pClassifier p2p, Device client, Bar peer) {
        return p2p == null ? P2pMapType.NOT_SUPPORTED : p2p.classify(client, peer);
    }

    /** Why {@link #classify} said so, for error messages. */
    public static String explain(P2pClassifier p2p, Device client, Bar peer) {
        return p2p == null ? "no P2P classifier is installed" : p2p.explain(client, peer);
    }

    /** The error for peer memory {@code client} cannot reach ({@code -EREMOTEIO}), naming the peer and why. */
    public static io.dma4j.api.DmaMappingException unreachable(P2pClassifier p2p, Device client, Bar peer, long phys, long len) {
        return new io.dma4j.api.DmaMappingException(client.name(), phys, len, "peer memory " + peer.device() + ".bar" + peer.index()
                + " is not reachable: " + explain(p2p, client, peer) + " (-EREMOTEIO)");
    }

    /**
     * The kernel's {@code pci_p2pdma_state}: classifies {@code phys} for {@code client},
     * reusing {@code state} when the address lies in the peer memory classified last.
     */
    public static P2pMapType mapType(Machine machine, P2pClassifier p2p, Device client, P2pState state, long phys) {
        if (state.covers(phys)) {
            return state.mapType();
        }
        Bar peer = barOf(machine, phys, 1);
        if (peer == null) {
            state.clear();
            return P2pMapType.NONE;
        }
        P2pMapType type = classify(p2p, client, peer);
        MappingStates.setP2p(state, peer, type, peer.cpuAddress() - peer.busAddress(), peer.cpuAddress(), peer.cpuAddress() + peer.size());
        return type;
    }
}
