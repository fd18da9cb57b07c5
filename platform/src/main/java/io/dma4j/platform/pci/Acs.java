package io.dma4j.platform.pci;

/**
 * Access Control Services control bits of a port (root port, switch downstream port) or of
 * a function of a multi-function device (function ACS). The kernel's P2PDMA distance
 * ({@code pci_bridge_has_acs_redir}, drivers/pci/p2pdma.c) counts a node as redirecting when
 * P2P request redirect, P2P completion redirect or P2P egress control is on: traffic then goes
 * up to the root complex (and the IOMMU) instead of across the switch or between functions.
 * The other bits are kept as described; they decide IOMMU-group isolation in the kernel
 * ({@code pci_acs_enabled}), not P2P routing.
 *
 * @param sourceValidation    SV: source validation
 * @param requestRedirect     RR: P2P request redirect
 * @param completionRedirect  CR: P2P completion redirect
 * @param upstreamForwarding  UF: upstream forwarding
 * @param egressControl       EC: P2P egress control
 * @param translationBlocking TB: translation blocking
 * @param directTranslated    DT: direct translated P2P
 */
public record Acs(boolean sourceValidation, boolean requestRedirect, boolean completionRedirect, boolean upstreamForwarding,
                  boolean egressControl, boolean translationBlocking, boolean directTranslated) {
    /** ACS absent or all controls off: peers under a switch talk directly. */
    public static final Acs NONE = new Acs(false, false, false, false, false, false, false);

    /** SV, RR, CR and UF; EC, TB and DT off. */
    public Acs(boolean sourceValidation, boolean requestRedirect, boolean completionRedirect, boolean upstreamForwarding) {
        this(sourceValidation, requestRedirect, completionRedirect, upstreamForwarding, false, false, false);
    }

    /** Whether this node forces peer-to-peer traffic upstream (RR, CR or EC, as {@code pci_bridge_has_acs_redir} reads them). */
    public boolean redirects() {
        return requestRedirect || completionRedirect || egressControl;
    }

    /** The bits that are on, by their specification names ("RR CR"), or "" for none. */
    public String bits() {
        StringBuilder b = new StringBuilder();
        String[] names = {"SV", "RR", "CR", "UF", "EC", "TB", "DT"};
        boolean[] on = {sourceValidation, requestRedirect, completionRedirect, upstreamForwarding, egressControl, translationBlocking, directTranslated};
        for (int i = 0; i < names.length; i++) {
            if (on[i]) {
                b.append(b.isEmpty() ? "" : " ").append(names[i]);
            }
        }
        return b.toString();
    }
}
