package io.dma4j.platform.pci;

import io.dma4j.platform.Cpu;

import java.util.List;

/**
 * Which host bridges route peer-to-peer traffic between their root ports, as hardware: a
 * bridge described with {@code p2pForwarding}, a host bridge device known to do it (the ids
 * the kernel's {@code pci_p2pdma_whitelist} lists, some only within one host bridge), or any
 * host bridge of an AMD CPU of family 0x17 (Zen) or newer. The P2P provider applies the
 * kernel's policy over the same facts, so a route the kernel allows is one the machine's
 * fabric carries.
 *
 * <p>Thread safety: stateless.
 */
public final class HostBridges {
    /**
     * A host bridge device known to route peer traffic.
     *
     * @param sameHostBridgeOnly it routes between its own root ports only, not to another host bridge
     */
    public record Known(int vendor, int device, boolean sameHostBridgeOnly) {
    }

    private static final int INTEL = 0x8086;

    /** The host bridge devices of drivers/pci/p2pdma.c's {@code pci_p2pdma_whitelist} (v6.16). */
    public static final List<Known> KNOWN = List.of(
            new Known(INTEL, 0x3c00, true), new Known(INTEL, 0x3c01, true),   // Xeon E5 / Core i7
            new Known(INTEL, 0x2f00, true), new Known(INTEL, 0x2f01, true),   // Xeon E7 v3 / E5 v3 / Core i7
            new Known(INTEL, 0x2030, false), new Known(INTEL, 0x2031, false), // Skylake-E
            new Known(INTEL, 0x2032, false), new Known(INTEL, 0x2033, false),
            new Known(INTEL, 0x2020, false), new Known(INTEL, 0x09a2, false));

    private HostBridges() {
    }

    /** The entry for a host bridge's ids, or {@code null}. */
    public static Known known(PciNode hostBridge) {
        for (Known k : KNOWN) {
            if (k.vendor() == hostBridge.vendorId() && k.device() == hostBridge.deviceId()) {
                return k;
            }
        }
        return null;
    }

    /** Whether an AMD CPU of family 0x17 or newer makes every host bridge route peer traffic ({@code cpu_supports_p2pdma}). */
    public static boolean cpuRoutesPeerTraffic(Cpu cpu) {
        return cpu.vendor().equals("amd") && cpu.family() >= 0x17;
    }

    /**
     * Whether {@code hostBridge} routes peer traffic: within itself ({@code sameHostBridge}),
     * or towards another host bridge.
     */
    public static boolean routes(Cpu cpu, PciNode hostBridge, boolean sameHostBridge) {
        return cpuRoutesPeerTraffic(cpu) || listed(hostBridge, sameHostBridge);
    }

    /**
     * Whether a host bridge itself routes peer traffic whatever the CPU ({@code __host_bridge_whitelist}):
     * described with {@code p2pForwarding}, or known, within itself ({@code sameHostBridge}) or
     * towards another host bridge unless its entry is same-bridge only.
     */
    public static boolean listed(PciNode hostBridge, boolean sameHostBridge) {
        if (hostBridge.p2pForwarding()) {
            return true;
        }
        Known k = known(hostBridge);
        return k != null && (sameHostBridge || !k.sameHostBridgeOnly());
    }

    /** Whether traffic from below host bridge {@code a} reaches below {@code b} through the root complex(es). */
    public static boolean routes(Cpu cpu, PciNode a, PciNode b) {
        return a == b ? routes(cpu, a, true) : routes(cpu, a, false) && routes(cpu, b, false);
    }
}
