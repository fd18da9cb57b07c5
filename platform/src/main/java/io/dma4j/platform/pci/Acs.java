package io.dma4j.platform.pci;

/**
 * Access Control Services settings of a switch downstream port (or root port). When
 * request or completion redirect is on, peer-to-peer traffic entering the port is sent
 * upstream (to the root complex and IOMMU) instead of straight across the switch.
 *
 * @param sourceValidation   ACS source validation
 * @param requestRedirect    ACS P2P request redirect
 * @param completionRedirect ACS P2P completion redirect
 * @param upstreamForwarding ACS upstream forwarding
 */
public record Acs(boolean sourceValidation, boolean requestRedirect, boolean completionRedirect, boolean upstreamForwarding) {
    /** ACS absent or all controls off: peers under a switch talk directly. */
    public static final Acs NONE = new Acs(false, false, false, false);

    /** Whether this port forces peer-to-peer traffic upstream. */
    public boolean redirects() {
        return requestRedirect || completionRedirect;
    }
}
