package io.dma4j.spi;

import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMappingException;
import io.dma4j.api.P2pMapType;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.memory.Region;
import io.dma4j.platform.pci.Bar;

/**
 * What most mapping backends share: the device and its context, scatter lists mapped entry
 * by entry with peer memory classified through the P2P role (as dma-direct's
 * {@code dma_direct_map_sg} does), the scatter-list syncs, the required mask from the
 * machine's RAM, and detaching the translation on release. Extend it and write the
 * single-range calls and the coherent ones; override what your backend does differently.
 *
 * <p>Thread safety: the methods here are safe for concurrent use.
 */
public abstract class AbstractMappingBackend implements MappingBackend {
    /** What the backend was created with. */
    protected final BackendContext context;
    /** The device it maps for. */
    protected final Device device;

    protected AbstractMappingBackend(BackendContext context) {
        this.context = context;
        this.device = context.device();
    }

    /** Restores the device's own translation. */
    @Override
    public void release() {
        context.detachTranslation();
    }

    /**
     * Maps each entry with {@link #mapPhys}; an entry in a peer's memory BAR maps to its bus
     * address when the P2P role says {@link P2pMapType#BUS_ADDR} (flagged
     * {@link ScatterList#FLAG_BUS_ADDRESS}, never unmapped), through the host bridge with
     * {@link DmaAttrs#MMIO}, and is refused when not supported ({@code -EREMOTEIO}). Never
     * merges. On failure the entries mapped so far are unmapped.
     */
    @Override
    public int mapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        for (int i = 0; i < nents; i++) {
            long phys = sg.phys(i);
            long len = sg.length(i);
            try {
                Bar peer = PeerMemory.barOf(context.machine(), phys, len);
                if (peer == null) {
                    sg.setDma(i, mapPhys(phys, len, dir, attrs), len, 0);
                    continue;
                }
                P2pMapType type = PeerMemory.classify(context.p2p(), device, peer);
                if (type == P2pMapType.BUS_ADDR) {
                    sg.setDma(i, phys - peer.cpuAddress() + peer.busAddress(), len, ScatterList.FLAG_BUS_ADDRESS);
                } else if (type == P2pMapType.NOT_SUPPORTED) {
                    throw PeerMemory.unreachable(context.p2p(), device, peer, phys, len);
                } else {
                    sg.setDma(i, mapPhys(phys, len, dir, attrs | DmaAttrs.MMIO), len, 0);
                }
            } catch (RuntimeException e) {
                unmapSg(sg, i, dir, attrs | DmaAttrs.SKIP_CPU_SYNC);
                throw e;
            }
        }
        return nents;
    }

    /** Unmaps each DMA segment that is not a peer bus address ({@link #mapSg}'s inverse). */
    @Override
    public void unmapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        for (int i = 0; i < nents; i++) {
            if ((sg.dmaFlags(i) & ScatterList.FLAG_BUS_ADDRESS) == 0) {
                int a = PeerMemory.barOf(context.machine(), sg.phys(i), sg.length(i)) != null ? attrs | DmaAttrs.MMIO : attrs;
                unmapPhys(sg.dmaAddress(i), sg.dmaLength(i), dir, a);
            }
        }
    }

    /** The mask that covers all RAM plus the device's DMA range offset ({@code dma_direct_get_required_mask}). */
    @Override
    public long requiredMask() {
        long top = 0;
        for (Region r : context.machine().addressSpace().dram()) {
            top = Math.max(top, r.end() - 1 + device.attributes().rangeOffset());
        }
        return top == 0 ? 0 : -1L >>> Long.numberOfLeadingZeros(top);
    }

    /** A {@link DmaMappingException} for this device. */
    protected final DmaMappingException mappingError(long phys, long size, String why) {
        return new DmaMappingException(device.name(), phys, size, why);
    }
}
