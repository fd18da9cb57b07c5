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

        /** Whether a node of that name exists. */
        public boolean has(String name) {
            return nodes.containsKey(name);
        }

        /** The fabric. */
        public PciFabric build() {
            return new PciFabric(new LinkedHashMap<>(nodes));
        }
    }
}
