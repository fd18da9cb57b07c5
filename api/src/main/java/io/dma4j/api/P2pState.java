package io.dma4j.api;

/**
 * Per-request peer-to-peer state ({@code struct pci_p2pdma_map_state}): remembers the
 * peer memory and map type of the last classified address so that consecutive segments
 * in the same peer's memory are classified once. Reuse it across a request.
 *
 * <p>Thread safety: none; one state per request.
 */
public final class P2pState {
    private Object provider;
    private P2pMapType mapType = P2pMapType.NONE;
    private long busOffset;
    private long windowStart;
    private long windowEnd;

    /** The map type of the last classified address. */
    public P2pMapType mapType() {
        return mapType;
    }

    /** The peer memory (a BAR description) of the last classified address, or {@code null}. */
    public Object provider() {
        return provider;
    }

    /** The PCI bus address for a physical address inside the current peer memory (valid for {@link P2pMapType#BUS_ADDR}). */
    public long busAddress(long phys) {
        return phys - busOffset;
    }

    /** Whether {@code phys} lies in the peer memory classified last (so its result can be reused). */
    public boolean covers(long phys) {
        return provider != null && phys >= windowStart && phys < windowEnd;
    }

    /**
     * Records a classification (backends and the runtime, through the SPI's {@code MappingStates}).
     *
     * @param provider    the peer memory (for example its BAR)
     * @param type        the map type
     * @param busOffset   CPU physical address minus bus address in that memory
     * @param windowStart first CPU physical address of the peer memory
     * @param windowEnd   one past its last address
     */
    void set(Object provider, P2pMapType type, long busOffset, long windowStart, long windowEnd) {
        this.provider = provider;
        this.mapType = type;
        this.busOffset = busOffset;
        this.windowStart = windowStart;
        this.windowEnd = windowEnd;
    }

    /** Forgets the last classification (a driver may, between requests). */
    public void clear() {
        set(null, P2pMapType.NONE, 0, 0, 0);
    }
}
