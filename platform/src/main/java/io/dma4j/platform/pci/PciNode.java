package io.dma4j.platform.pci;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * One element of the PCI fabric: a host bridge, a root port, a switch's upstream or
 * downstream port, or an endpoint (the slot a device sits in).
 *
 * <p>Thread safety: built once by {@link PciFabric}; read-only afterwards.
 */
public final class PciNode {
    /** What kind of fabric element a node is. */
    public enum Kind {
        HOST_BRIDGE, ROOT_PORT, SWITCH_UPSTREAM, SWITCH_DOWNSTREAM, ENDPOINT;

        /**
         * Whether a node of this kind may sit directly below a node of kind {@code parent}:
         * root ports below host bridges, downstream ports below a switch's upstream port,
         * switch upstream ports and endpoints below a root port or a downstream port.
         */
        public boolean allowedBelow(Kind parent) {
            return switch (this) {
                case HOST_BRIDGE -> false;
                case ROOT_PORT -> parent == HOST_BRIDGE;
                case SWITCH_DOWNSTREAM -> parent == SWITCH_UPSTREAM;
                case SWITCH_UPSTREAM, ENDPOINT -> parent == ROOT_PORT || parent == SWITCH_DOWNSTREAM;
            };
        }

        /** The name used in machine descriptions ("host-bridge", "root-port", ...). */
        public String jsonName() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    private final String name;
    private final Kind kind;
    private final PciNode parent;
    private final Acs acs;
    private final boolean p2pForwarding;
    private final long busOffset;
    private final List<PciNode> children = new ArrayList<>();

    PciNode(String name, Kind kind, PciNode parent, Acs acs, boolean p2pForwarding, long busOffset) {
        this.name = Objects.requireNonNull(name);
        this.kind = Objects.requireNonNull(kind);
        this.parent = parent;
        this.acs = acs == null ? Acs.NONE : acs;
        this.p2pForwarding = p2pForwarding;
        this.busOffset = busOffset;
        if (parent != null) {
            parent.children.add(this);
        }
    }

    /** The node's unique name. */
    public String name() {
        return name;
    }

    /** The node's kind. */
    public Kind kind() {
        return kind;
    }

    /** The upstream node, or {@code null} for a host bridge. */
    public PciNode parent() {
        return parent;
    }

    /** Downstream nodes in description order. */
    public List<PciNode> children() {
        return Collections.unmodifiableList(children);
    }

    /** ACS settings (meaningful for root ports and switch downstream ports). */
    public Acs acs() {
        return acs;
    }

    /** For a host bridge: whether it forwards peer-to-peer traffic between its root ports. */
    public boolean p2pForwarding() {
        return p2pForwarding;
    }

    /**
     * For a host bridge: CPU physical address minus PCI bus address for BARs below it (the
     * host-bridge window offset); 0 when the two are the same.
     */
    public long busOffset() {
        return busOffset;
    }

    /** The host bridge above this node (itself for a host bridge). */
    public PciNode hostBridge() {
        PciNode n = this;
        while (n.parent != null) {
            n = n.parent;
        }
        return n;
    }

    /** Nodes from this one up to and including its host bridge. */
    public List<PciNode> pathToRoot() {
        List<PciNode> path = new ArrayList<>();
        for (PciNode n = this; n != null; n = n.parent) {
            path.add(n);
        }
        return path;
    }

    @Override
    public String toString() {
        return name + " (" + kind.jsonName() + ")";
    }
}
