package io.dma4j.platform.pci;

import java.util.ArrayList;
import java.util.List;

/**
 * The PCI path between two endpoints as the kernel's p2pdma code measures it
 * ({@code calc_map_type_and_dist}): the lowest upstream bridge (root port or switch port)
 * both sit below, the hop counts from each side to it, and the ports on the way whose ACS
 * settings redirect peer traffic upstream. Host bridges are not bridges here: two
 * devices below different root ports have no common upstream bridge, and their traffic
 * goes through the host bridge.
 *
 * @param common      the lowest common upstream bridge, or {@code null}
 * @param distance    hops from one end up to the common bridge and down to the other
 *                    (when there is none: the nodes from each end up to its root port, counted
 *                    as the kernel counts them)
 * @param acsRedirect the names of the ports on the path that redirect peer traffic
 */
public record PciPath(PciNode common, int distance, List<String> acsRedirect) {
    public PciPath {
        acsRedirect = List.copyOf(acsRedirect);
    }

    /** Whether the traffic can turn around below the host bridge (a common bridge and no ACS redirect). */
    public boolean staysBelowSwitch() {
        return common != null && acsRedirect.isEmpty();
    }

    /** The path between two fabric nodes (normally the endpoints of two devices). */
    public static PciPath between(PciNode provider, PciNode client) {
        List<String> redirect = new ArrayList<>();
        PciNode common = null;
        int distA = 0;
        int distB = 0;
        for (PciNode a = provider; a != null && a.kind() != PciNode.Kind.HOST_BRIDGE; a = a.parent(), distA++) {
            if (a.acs().redirects()) {
                redirect.add(a.name());
            }
            int d = 0;
            for (PciNode b = client; b != null && b.kind() != PciNode.Kind.HOST_BRIDGE; b = b.parent(), d++) {
                if (b == a) {
                    common = a;
                    distB = d;
                    break;
                }
            }
            if (common != null) {
                break;
            }
        }
        if (common != null) {
            for (PciNode b = client; b != common; b = b.parent()) {
                if (b.acs().redirects() && !redirect.contains(b.name())) {
                    redirect.add(b.name());
                }
            }
            return new PciPath(common, distA + distB, redirect);
        }
        // no common bridge: count the hops from each end up to its root port
        int up = 0;
        for (PciNode b = client; b != null && b.kind() != PciNode.Kind.HOST_BRIDGE; b = b.parent()) {
            if (b.acs().redirects()) {
                redirect.add(b.name());
            }
            up++;
        }
        return new PciPath(null, distA + up, redirect);
    }
}
