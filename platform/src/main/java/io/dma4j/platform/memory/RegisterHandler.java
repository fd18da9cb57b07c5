package io.dma4j.platform.memory;

/**
 * The behaviour behind a register BAR (doorbells, control registers): CPU loads and stores
 * to the BAR's physical addresses arrive here as offsets into the BAR.
 *
 * <p>Thread safety: implementations are called from whichever thread performs the MMIO
 * access and must state their own rules; the platform adds no locking.
 */
public interface RegisterHandler {
    /**
     * A CPU load from the register block.
     *
     * @param offset byte offset inside the BAR
     * @param width  access width in bytes: 1, 2, 4 or 8
     * @return the value read, zero-extended to 64 bits
     */
    long readRegister(long offset, int width);

    /**
     * A CPU store to the register block; a doorbell write may start device work.
     *
     * @param offset byte offset inside the BAR
     * @param width  access width in bytes: 1, 2, 4 or 8
     * @param value  the value written, in the low {@code width} bytes
     */
    void writeRegister(long offset, int width, long value);
}
