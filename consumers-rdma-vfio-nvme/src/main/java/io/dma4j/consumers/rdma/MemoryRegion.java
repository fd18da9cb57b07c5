package io.dma4j.consumers.rdma;

/**
 * A memory key the RNIC translates through a table the driver fills on demand: an ODP region
 * ({@link OdpMr}) or a region over a dma-buf ({@link DmaBufMr}). A request that meets a
 * missing entry raises a page fault, which the driver resolves with {@link #prefetch}.
 */
public interface MemoryRegion extends AutoCloseable {
    /** The memory key requests name. */
    int lkey();

    /** The first address of the region in the key's address space. */
    long start();

    /** Bytes in the region. */
    long length();

    /**
     * Makes the translation of {@code [va, va + length)} present on the NIC (the fault
     * handler's work); returns the pages written.
     *
     * @throws RuntimeException when the pages cannot be made present (the request then completes in error)
     */
    int prefetch(long va, long length, boolean write);

    /** Destroys the key and releases what the region holds. */
    @Override
    void close();
}
