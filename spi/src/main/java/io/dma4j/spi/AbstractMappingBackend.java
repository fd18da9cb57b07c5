package io.dma4j.spi;

import io.dma4j.api.P2pMapType;
import io.dma4j.api.P2pState;
import io.dma4j.platform.device.Device;

/**
 * What most mapping backends share: the device and its context, masks kept on the device
 * (as {@code dma_set_mask} does), the device's segment limits, peer-memory classification
 * through the P2P role, and detaching the translation on release. Extend it and implement
 * the mapping calls; override what your backend does differently.
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

    @Override
    public Device device() {
        return device;
    }

    /** Restores the device's own translation. */
    @Override
    public void release() {
        device.port().detach();
    }

    @Override
    public long getMask() {
        return device.dmaMask();
    }

    @Override
    public void setMask(long mask) {
        device.setDmaMask(mask);
    }

    @Override
    public long getCoherentMask() {
        return device.coherentMask();
    }

    @Override
    public void setCoherentMask(long mask) {
        device.setCoherentMask(mask);
    }

    @Override
    public long maxSegmentSize() {
        return device.attributes().maxSegmentSize();
    }

    @Override
    public long segmentBoundary() {
        return device.attributes().segmentBoundaryMask();
    }

    @Override
    public P2pMapType p2pMapType(P2pState state, long phys) {
        return PeerMemory.mapType(context.machine(), context.p2p(), device, state, phys);
    }
}
