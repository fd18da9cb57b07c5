package io.dma4j.platform.pci;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The PCI topology: host bridges at the top, root ports, switches (an upstream port with
 * downstream ports) and endpoints. Built once from the machine description.
 *
 * <p>Thread safety: the topology is immutable after {@link Builder#build()}; the generation is atomic.
 */
public final class PciFabric {
    private final Map<String, PciNode> nodes;
    private final java.util.concurrent.atomic.AtomicLong generation = new java.util.concurrent.atomic.AtomicLong();

    private PciFabric(Map<String, PciNode> nodes) {
        this.nodes = Collections.unmodifiableMap(nodes);
    }

    /** Changes whenever the fabric changes (a hot-remove): cached path results older than this are stale. */
    public long generation() {
        return generation.get();
    }

    /** Records a change of the fabric. */
    public void bumpGeneration() {
        generation.incrementAndGet();
    }

    /** The node of that name, or {@code null}. */
    public PciNode node(String name) {
        return nodes.get(name);
    }

    /** All nodes in description order. */
    public List<PciNode> nodes() {
        return List.copyOf(nodes.values());
    }

    /** The host bridges in description order. */
    public List<PciNode> hostBridges() {
        List<PciNode> out = new ArrayList<>();
        for (PciNode n : nodes.values()) {
            if (n.kind() == PciNode.Kind.HOST_BRIDGE) {
                out.add(n);
            }
        }
        return out;
    }

    /** The deepest node that is upstream of (or equal to) both, or {@code null} if they share no host bridge. */
    public static PciNode commonUpstream(PciNode a, PciNode b) {
        List<PciNode> pa = a.pathToRoot();
        for (PciNode n = b; n != null; n = n.parent()) {
            if (pa.contains(n)) {
                return n;
            }
        }
        return null;
    }

    /** A new builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** Adds nodes parent-first; names are unique. Not thread-safe. */
    public static final class Builder {
        private final Map<String, PciNode> nodes = new LinkedHashMap<>();

        /**
         * Adds a node.
         *
         * @param parent name of an already added node, or {@code null} for a host bridge
         * @throws IllegalArgumentException for a duplicate name, an unknown parent, or a
         *                                  parent/child pairing PCI does not allow
         */
        public Builder add(String name, PciNode.Kind kind, String parent, Acs acs, boolean p2pForwarding, long busOffset) {
            if (nodes.containsKey(name)) {
                throw new IllegalArgumentException("duplicate fabric node name '" + name + "'");
            }
            PciNode up = null;
            if (kind == PciNode.Kind.HOST_BRIDGE) {
                if (parent != null) {
                    throw new IllegalArgumentException("host bridge '" + name + "' cannot have a parent");
                }
            } else {
                if (parent == null) {
                    throw new IllegalArgumentException("'" + name + "' (" + kind.jsonName() + ") needs a parent");
                }
                up = nodes.get(parent);
                if (up == null) {
                    throw new IllegalArgumentException("unknown parent '" + parent + "' (parents must be listed before their children)");
                }
                if (!kind.allowedBelow(up.kind())) {
                    throw new IllegalArgumentException("a " + kind.jsonName() + " cannot sit below a " + up.kind().jsonName() + " ('" + parent + "')");
                }
                if (up.kind() != PciNode.Kind.HOST_BRIDGE && up.kind() != PciNode.Kind.SWITCH_UPSTREAM && !up.children().isEmpty()) {
                    throw new IllegalArgumentException("port '" + parent + "' already has '" + up.children().get(0).name() + "' below it (a port links to one device or switch)");
                }
            }
            nodes.put(name, new PciNode(name, kind, up, acs, p2pForwarding, busOffset));
            return this;
        }

        /**
         * Adds function {@code function} (0..7) of a device below {@code port} (a root port, a
         * switch downstream port, or a host bridge for a root-complex integrated endpoint).
         * The functions of one multi-function device share a port; {@code acs} is the
         * function's own ACS (function ACS), or {@code null}.
         *
         * @throws IllegalArgumentException for a duplicate name, an unknown port, a port with
         *                                  a switch below it, or a function number taken
         */
        public Builder addEndpoint(String name, String port, Acs acs, int function) {
            if (nodes.containsKey(name)) {
                throw new IllegalArgumentException("duplicate fabric node name '" + name + "'");
            }
            if (function < 0 || function > 7) {
                throw new IllegalArgumentException("function " + function + " of '" + name + "' (expected: 0..7)");
            }
            PciNode up = nodes.get(port);
            if (up == null) {
                throw new IllegalArgumentException("unknown port '" + port + "'");
            }
            if (!PciNode.Kind.ENDPOINT.allowedBelow(up.kind())) {
                throw new IllegalArgumentException("a device sits below a root port, a switch downstream port or a host bridge, not a " + up.kind().jsonName() + " ('" + port + "')");
            }
            if (up.kind() != PciNode.Kind.HOST_BRIDGE) {
                for (PciNode c : up.children()) {
                    if (c.kind() != PciNode.Kind.ENDPOINT) {
                        throw new IllegalArgumentException("port '" + port + "' already has '" + c.name() + "' below it (a port links to one device or switch)");
                    }
                    if (c.physfn() == null && c.function() == function) {
                        throw new IllegalArgumentException("port '" + port + "' already has function " + function + " ('" + c.name()
                                + "'): the functions of a multi-function device need distinct numbers");
                    }
                }
            }
            nodes.put(name, new PciNode(name, PciNode.Kind.ENDPOINT, up, acs, false, 0, function, null, 0));
            return this;
        }

        /**
         * Adds SR-IOV virtual function number {@code vf} (1 for the first) of the endpoint
         * {@code physfn}. It sits below the physical function's port, as
         * {@code pci_upstream_bridge} sees it, and takes the routing ID after the physical
         * function's by {@code vf} (a First VF Offset and a VF Stride of 1).
         *
         * @throws IllegalArgumentException for a duplicate name, an unknown or non-endpoint
         *                                  physical function, a VF of a VF, or {@code vf < 1}
         */
        public Builder addVirtualFunction(String name, String physfn, int vf) {
            if (nodes.containsKey(name)) {
                throw new IllegalArgumentException("duplicate fabric node name '" + name + "'");
            }
            PciNode pf = nodes.get(physfn);
            if (pf == null || pf.kind() != PciNode.Kind.ENDPOINT) {
                throw new IllegalArgumentException("physical function '" + physfn + "' of '" + name + "' is not a device on the fabric");
            }
            if (pf.physfn() != null) {
                throw new IllegalArgumentException("'" + physfn + "' is itself a virtual function; '" + name + "' needs a physical function");
            }
            if (vf < 1) {
                throw new IllegalArgumentException("VF number " + vf + " of '" + name + "' (expected: >= 1)");
            }
            nodes.put(name, new PciNode(name, PciNode.Kind.ENDPOINT, pf.parent(), null, false, 0, 0, pf, vf));
            return this;
        }

        /**
         * Sets the vendor and device id of a host bridge's host bridge device (what the
         * kernel's P2PDMA host-bridge whitelist matches).
         *
         * @throws IllegalArgumentException when {@code name} is not a host bridge or an id is not 16-bit
         */
        public Builder hostBridgeIds(String name, int vendorId, int deviceId) {
            PciNode hb = nodes.get(name);
            if (hb == null || hb.kind() != PciNode.Kind.HOST_BRIDGE) {
                throw new IllegalArgumentException("'" + name + "' is not a host bridge");
            }
            if (vendorId < 0 || vendorId > 0xFFFF || deviceId < 0 || deviceId > 0xFFFF) {
                throw new IllegalArgumentException(String.format("host bridge '%s' ids 0x%x:0x%x (expected: 16-bit vendor and device ids)", name, vendorId, deviceId));
            }
            hb.vendorId = vendorId;
            hb.deviceId = deviceId;
            return this;
        }

        /** Whether a node of that name exists. */
        public boolean has(String name) {
            return nodes.containsKey(name);
        }

        /**
         * The fabric, numbered: each host bridge a PCI domain in order, its root bus 0 with
         * the host bridge device at 00.0 and then its root ports and integrated endpoints;
         * below that, depth first, a new bus for every bridge's secondary side, switch
         * downstream ports numbered as devices on their switch's bus, endpoints as device 0
         * with their function number, virtual functions after their physical function.
         *
         * @throws IllegalArgumentException when a virtual function's routing ID is taken or
         *                                  a hierarchy needs more than 256 buses
         */
        public PciFabric build() {
            int domain = 0;
            List<PciNode> vfs = new java.util.ArrayList<>();
            for (PciNode n : nodes.values()) {
                if (n.kind() == PciNode.Kind.HOST_BRIDGE) {
                    int[] nextBus = {0};
                    n.bdf = bdf(domain, 0, 0, 0);
                    int dev = 1;
                    for (PciNode c : n.children()) {
                        if (c.physfn() != null) {
                            continue;
                        }
                        c.bdf = bdf(domain, 0, dev++, c.kind() == PciNode.Kind.ENDPOINT ? c.function() : 0);
                        if (c.kind() == PciNode.Kind.ROOT_PORT) {
                            number(c, domain, nextBus);
                        }
                    }
                    domain++;
                } else if (n.physfn() != null) {
                    vfs.add(n);
                }
            }
            Map<String, String> taken = new java.util.HashMap<>();
            for (PciNode n : nodes.values()) {
                if (n.kind() != PciNode.Kind.HOST_BRIDGE && n.physfn() == null) {
                    taken.put(n.bdf, n.name());
                }
            }
            for (PciNode vf : vfs) {
                String pf = vf.physfn().bdf;
                int bus = Integer.parseInt(pf.substring(5, 7), 16);
                int devfn = (Integer.parseInt(pf.substring(8, 10), 16) << 3 | Integer.parseInt(pf.substring(11), 16)) + vf.vfIndex();
                if (devfn > 0xFF) {
                    throw new IllegalArgumentException("VF " + vf.vfIndex() + " of '" + vf.physfn().name() + "' ('" + vf.name() + "') runs past the bus's 256 routing IDs");
                }
                vf.bdf = pf.substring(0, 5) + String.format("%02x:%02x.%x", bus, devfn >> 3, devfn & 7);
                String holder = taken.putIfAbsent(vf.bdf, vf.name());
                if (holder != null) {
                    throw new IllegalArgumentException("VF '" + vf.name() + "' would take routing ID " + vf.bdf + ", which '" + holder + "' has");
                }
            }
            return new PciFabric(new LinkedHashMap<>(nodes));
        }

        /** Numbers the secondary bus of {@code bridge} and everything below it, depth first. */
        private static void number(PciNode bridge, int domain, int[] nextBus) {
            int bus = ++nextBus[0];
            if (bus > 0xFF) {
                throw new IllegalArgumentException("the hierarchy of PCI domain " + domain + " needs more than 256 buses");
            }
            int dev = 0;
            for (PciNode c : bridge.children()) {
                if (c.physfn() != null) {
                    continue;
                }
                switch (c.kind()) {
                    case ENDPOINT -> c.bdf = bdf(domain, bus, 0, c.function());
                    case SWITCH_UPSTREAM -> {
                        c.bdf = bdf(domain, bus, 0, 0);
                        number(c, domain, nextBus);
                    }
                    case SWITCH_DOWNSTREAM -> {
                        c.bdf = bdf(domain, bus, dev++, 0);
                        number(c, domain, nextBus);
                    }
                    default -> throw new IllegalStateException(c.toString());
                }
            }
        }

        private static String bdf(int domain, int bus, int dev, int fn) {
            return String.format("%04x:%02x:%02x.%x", domain, bus, dev, fn);
        }
    }
}
