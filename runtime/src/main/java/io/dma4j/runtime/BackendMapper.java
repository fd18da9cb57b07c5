package io.dma4j.runtime;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.IovaState;
import io.dma4j.api.MisuseCheck;
import io.dma4j.api.P2pMapType;
import io.dma4j.api.P2pState;
import io.dma4j.api.ScatterList;
import io.dma4j.api.DmaMappingException;
import io.dma4j.platform.Machine;
import io.dma4j.platform.fault.FaultInjector;
import io.dma4j.platform.device.Device;
import io.dma4j.spi.IovaOps;
import io.dma4j.spi.MappingBackend;
import io.dma4j.spi.MappingStates;
import io.dma4j.spi.P2pClassifier;
import io.dma4j.spi.PeerMemory;

import java.lang.foreign.MemorySegment;

/**
 * The last layer of a device's chain: the driver API on top of the SPI's
 * {@link MappingBackend}, as {@code kernel/dma/mapping.c} sits on {@code dma_map_ops}. It
 * does what the kernel's generic layer does rather than the ops: masks
 * ({@code dma_set_mask} asks {@code dma_supported}), the device's segment limits, P2P
 * classification ({@code pci_p2pdma_state}), and the two-step calls for a backend without
 * IOVA space (try-alloc answers {@code false}, as {@code use_dma_iommu()} false does).
 * It expects validated arguments: it is reached only through the layers above it.
 *
 * <p>Thread safety: as {@link DmaMapper}.
 */
final class BackendMapper implements DmaMapper {
    private final Device.Control control;
    private final Device device;
    private final String name;
    private final Machine machine;
    private final P2pClassifier p2p;
    private final MappingBackend backend;
    private final IovaOps iova;

    BackendMapper(Machine machine, Device.Control control, P2pClassifier p2p, MappingBackend backend) {
        this.machine = machine;
        this.control = control;
        this.device = control.device();
        this.name = device.name();
        this.p2p = p2p;
        this.backend = backend;
        this.iova = backend.twoStep();
    }

    MappingBackend backend() {
        return backend;
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public long mapPhys(long phys, long size, DmaDirection dir, int attrs) {
        return backend.mapPhys(phys, size, dir, attrs);
    }

    @Override
    public void unmapPhys(long dma, long size, DmaDirection dir, int attrs) {
        backend.unmapPhys(dma, size, dir, attrs);
    }

    @Override
    public int mapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        return backend.mapSg(sg, nents, dir, attrs);
    }

    @Override
    public void unmapSg(ScatterList sg, int nents, DmaDirection dir, int attrs) {
        backend.unmapSg(sg, nents, dir, attrs);
    }

    @Override
    public void syncForCpu(long dma, long size, DmaDirection dir) {
        backend.syncForCpu(dma, size, dir);
    }

    @Override
    public void syncForDevice(long dma, long size, DmaDirection dir) {
        backend.syncForDevice(dma, size, dir);
    }

    @Override
    public void syncSgForCpu(ScatterList sg, int nents, DmaDirection dir) {
        backend.syncSgForCpu(sg, nents, dir);
    }

    @Override
    public void syncSgForDevice(ScatterList sg, int nents, DmaDirection dir) {
        backend.syncSgForDevice(sg, nents, dir);
    }

    @Override
    public CoherentBuffer allocCoherent(long size, int attrs) {
        FaultInjector faults = machine.faultInjector();
        if (faults.armed() && faults.shouldFail(FaultInjector.Point.COHERENT_ALLOC, name)) {
            throw new DmaMappingException(name, 0, size, "no memory for a coherent allocation: injected failure (coherent_alloc)");
        }
        return backend.allocCoherent(size, attrs);
    }

    @Override
    public void freeCoherent(long size, MemorySegment cpu, long dma) {
        backend.freeCoherent(size, cpu, dma);
    }

    // ---------------------------------------------------------------- two-step

    @Override
    public boolean iovaTryAlloc(IovaState state, long phys, long size) {
        MappingStates.clear(state);
        if (iova == null || size <= 0) {
            return false; // the kernel also WARNs once for 0 and for bit 63
        }
        return iova.tryAlloc(state, phys, size);
    }

    private IovaOps ops(String call) {
        if (iova == null) {
            throw new DmaApiMisuseException(name, MisuseCheck.IOVA_WITHOUT_IOMMU, call + " on a device whose backend (" + backend.providerName()
                    + ") has no IOVA space (iovaTryAlloc answers false here; use mapPhys per range)");
        }
        return iova;
    }

    /**
     * Link and unlink run inside a guard on the state, and destroy and free wait for them:
     * two threads misusing one state (the kernel leaves that undefined) get a
     * {@link MisuseCheck#IOVA_CONCURRENT_USE} instead of a translation left behind in IOVA space
     * that no reservation covers any more.
     */
    private void enter(IovaState state, String call) {
        if (!MappingStates.enter(state)) {
            throw new DmaApiMisuseException(name, MisuseCheck.IOVA_CONCURRENT_USE, call + " on a state that another thread is destroying, "
                    + "or has destroyed or freed (one IovaState belongs to one thread at a time)");
        }
    }

    @Override
    public void iovaLink(IovaState state, long phys, long offset, long size, DmaDirection dir, int attrs) {
        IovaOps o = ops("iovaLink");
        enter(state, "iovaLink");
        try {
            o.link(state, phys, offset, size, dir, attrs);
        } finally {
            MappingStates.exit(state);
        }
    }

    @Override
    public void iovaSync(IovaState state, long offset, long size) {
        ops("iovaSync").sync(state, offset, size);
    }

    @Override
    public void iovaUnlink(IovaState state, long offset, long size, DmaDirection dir, int attrs) {
        IovaOps o = ops("iovaUnlink");
        enter(state, "iovaUnlink");
        try {
            o.unlink(state, offset, size, dir, attrs);
        } finally {
            MappingStates.exit(state);
        }
    }

    @Override
    public void iovaDestroy(IovaState state, long mappedLen, DmaDirection dir, int attrs) {
        IovaOps o = ops("iovaDestroy");
        MappingStates.beginTeardown(state);
        try {
            o.destroy(state, mappedLen, dir, attrs);
            MappingStates.clear(state);
        } finally {
            MappingStates.endTeardown(state);
        }
    }

    @Override
    public void iovaFree(IovaState state) {
        IovaOps o = ops("iovaFree");
        MappingStates.beginTeardown(state);
        try {
            o.free(state);
            MappingStates.clear(state);
        } finally {
            MappingStates.endTeardown(state);
        }
    }

    // ---------------------------------------------------------------- queries

    @Override
    public boolean needUnmap() {
        return backend.needUnmap();
    }

    @Override
    public boolean needSync(long dma) {
        return backend.needSync(dma);
    }

    @Override
    public long maxMappingSize() {
        return backend.maxMappingSize();
    }

    @Override
    public long optMappingSize() {
        return backend.optMappingSize();
    }

    @Override
    public long mergeBoundary() {
        return backend.mergeBoundary();
    }

    @Override
    public long getMask() {
        return device.dmaMask();
    }

    @Override
    public void setMask(long mask) {
        control.setDmaMask(supported("setMask", mask));
    }

    @Override
    public long getCoherentMask() {
        return device.coherentMask();
    }

    @Override
    public void setCoherentMask(long mask) {
        control.setCoherentMask(supported("setCoherentMask", mask));
    }

    private long supported(String call, long mask) {
        if (!backend.dmaSupported(mask)) {
            throw new IllegalArgumentException(String.format("%s: %s(0x%x): the %s backend cannot honour this mask (dma_supported is false; the mask that reaches all RAM is 0x%x)",
                    name, call, mask, backend.providerName(), backend.requiredMask()));
        }
        return mask;
    }

    @Override
    public long requiredMask() {
        return backend.requiredMask();
    }

    @Override
    public boolean addressingLimited() {
        return backend.addressingLimited(device.dmaMask());
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
        return PeerMemory.mapType(machine, p2p, device, state, phys);
    }

    @Override
    public String toString() {
        return "backend " + backend.providerName();
    }
}
