package io.dma4j.provider.p2p;

import io.dma4j.platform.Cpu;
import io.dma4j.platform.pci.HostBridges;
import io.dma4j.platform.pci.PciNode;

/**
 * Whether peer traffic may cross the host bridge(s) between two devices, as
 * drivers/pci/p2pdma.c (v6.16) decides it: {@code cpu_supports_p2pdma} (any AMD CPU of
 * family 0x17, Zen, or newer), else {@code host_bridge_whitelist}: both ends under one host
 * bridge need it on the whitelist; under two, both must be listed and neither entry may be
 * "same host bridge only". The whitelist's ids are the platform's {@link HostBridges#KNOWN};
 * a description's {@code p2pForwarding: true} stands for a bridge listed without that
 * restriction.
 */
final class HostBridgeRule {
    private HostBridgeRule() {
    }

    /**
     * Why the route through {@code a} (the provider's host bridge) and {@code b} (the
     * client's) is allowed, or {@code null} when it is not.
     */
    static String allowedBecause(Cpu cpu, PciNode a, PciNode b) {
        if (HostBridges.cpuRoutesPeerTraffic(cpu)) {
            return "an " + cpu + " CPU supports peer-to-peer through its host bridges";
        }
        if (a == b) {
            return HostBridges.listed(a, true) ? "through " + a.name() : null;
        }
        return HostBridges.listed(a, false) && HostBridges.listed(b, false) ? "through " + a.name() + " and " + b.name() : null;
    }

    /** Why not, for the explanation of a refusal. */
    static String refusedBecause(PciNode a, PciNode b) {
        if (a == b) {
            return a.name() + " does not forward peer-to-peer traffic";
        }
        for (PciNode h : new PciNode[] {a, b}) {
            HostBridges.Known k = HostBridges.known(h);
            if (k != null && k.sameHostBridgeOnly() && !h.p2pForwarding()) {
                return String.format("%s (%04x:%04x) forwards peer-to-peer traffic within itself only", h.name(), k.vendor(), k.device());
            }
        }
        return a.name() + " and " + b.name() + " do not forward peer-to-peer traffic";
    }
}
