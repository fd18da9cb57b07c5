package io.dma4j.spi;

import io.dma4j.api.P2pMapType;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.pci.Bar;

/**
 * Peer-to-peer classification from the PCI fabric (the kernel's p2pdma distance rules).
 *
 * <p>Thread safety: must be safe for concurrent use.
 */
public interface P2pClassifier {
    /**
     * How {@code client} reaches memory in {@code peerMemory} (a memory BAR of another device).
     *
     * @return {@link P2pMapType#BUS_ADDR}, {@link P2pMapType#THRU_HOST_BRIDGE} or
     *         {@link P2pMapType#NOT_SUPPORTED}; never {@link P2pMapType#NONE}
     */
    P2pMapType classify(Device client, Bar peerMemory);

    /** Why {@link #classify} answered as it did, for error messages ("no common switch and hb0 does not forward"). */
    String explain(Device client, Bar peerMemory);
}
