package io.dma4j.consumers.rdma;

/** The ODP fault loop gave up: the range stayed under invalidation for the whole timeout ({@code -EBUSY}). */
public final class OdpTimeoutException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    OdpTimeoutException(long va, long length, long timeoutMs) {
        super(String.format("ib_umem_odp_map_dma_and_lock: 0x%x+0x%x still being invalidated after %d ms (-EBUSY)", va, length, timeoutMs));
    }
}
