package io.dma4j.platform.pci;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * One element of the PCI fabric: a host bridge, a root port, a switch's upstream or
 * downstream port, or an endpoint (the function a device is). Several endpoints may sit
 * below one port as the functions of a multi-function device; an SR-IOV virtual function
 * sits below its physical function's port (the kernel's {@code pci_upstream_bridge} goes
 * through {@code pci_physfn}); a root-complex integrated endpoint sits below the host bridge.
 * Every node but a host bridge has a bus/device/function number, assigned by
 * {@link PciFabric} as enumeration does: depth first, one bus number per bridge, one PCI
 * domain per host bridge.
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
         * switch upstream ports below a root port or a downstream port, endpoints there or
         * (root-complex integrated endpoints) below a host bridge.
         */
        public boolean allowedBelow(Kind parent) {
            return switch (this) {
                case HOST_BRIDGE -> false;
                case ROOT_PORT -> parent == HOST_BRIDGE;
                case SWITCH_DOWNSTREAM -> parent == SWITCH_UPSTREAM;
                case SWITCH_UPSTREAM -> parent == ROOT_PORT || parent == SWITCH_DOWNSTREAM;
                case ENDPOINT -> parent == ROOT_PORT || parent == SWITCH_DOWNSTREAM || parent == HOST_BRIDGE;
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
    private final int function;
    private final PciNode physfn;
    private final int vfIndex;
    int vendorId = -1;
    int deviceId = -1;
    String bdf; // set by PciFabric.Builder.build
    private final List<PciNode> children = new ArrayList<>();

    PciNode(String name, Kind kind, PciNode parent, Acs acs, boolean p2pForwarding, long busOffset) {
        this(name, kind, parent, acs, p2pForwarding, busOffset, 0, null, 0);
    }

    PciNode(String name, Kind kind, PciNode parent, Acs acs, boolean p2pForwarding, long busOffset, int function, PciNode physfn, int vfIndex) {
        this.name = Objects.requireNonNull(name);
        this.kind = Objects.requireNonNull(kind);
        this.parent = parent;
        this.acs = acs == null ? Acs.NONE : acs;
        this.p2pForwarding = p2pForwarding;
        this.busOffset = busOffset;
        this.function = function;
        this.physfn = physfn;
        this.vfIndex = vfIndex;
        if (parent != null) {
            parent.children.add(this);
        }
    }

    /** For an endpoint: its function number (0..7) on its device; 0 otherwise. */
    public int function() {
        return function;
    }

    /** For an SR-IOV virtual function: its physical function; {@code null} otherwise. */
    public PciNode physfn() {
        return physfn;
    }

    /** For a virtual function: its number (1 for the first); 0 otherwise. */
    public int vfIndex() {
        return vfIndex;
    }

    /** For a host bridge: the PCI vendor id of its host bridge device (00:00.0), or -1 when not described. */
    public int vendorId() {
        return vendorId;
    }

    /** For a host bridge: the PCI device id of its host bridge device, or -1 when not described. */
    public int deviceId() {
        return deviceId;
    }

    /**
     * The node's PCI address {@code dddd:bb:dd.f} (for a host bridge, its host bridge
     * device's, {@code dddd:00:00.0}).
     */
    public String bdf() {
        return bdf;
    }

    /** The address without a zero PCI domain ({@code 03:00.1}), as {@code lspci} shows it. */
    public String shortBdf() {
        return bdf != null && bdf.startsWith("0000:") ? bdf.substring(5) : bdf;
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

    /** ACS settings (meaningful for root ports, switch downstream ports and functions of a multi-function device). */
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
