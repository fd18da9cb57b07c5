package io.dma4j.platform.pci;

/**
 * A PCI base address register window of a device.
 *
 * @param device     owning device's name
 * @param index      BAR number (0..5)
 * @param cpuAddress where the CPU sees it in the physical address space
 * @param busAddress where PCI peers address it (cpuAddress minus the host bridge's bus offset)
 * @param size       size in bytes
 * @param kind       plain memory (CMB, P2P memory) or registers (doorbells)
 */
public record Bar(String device, int index, long cpuAddress, long busAddress, long size, Kind kind) {
    /** What a BAR holds. */
    public enum Kind {
        /** Behaves like memory: loads and stores (and peer DMA) read and write bytes. */
        MEMORY,
        /** A register block: accesses go to the device model. */
        REGISTERS
    }

    /** Whether a CPU physical address lies in this BAR. */
    public boolean containsCpu(long phys) {
        return phys >= cpuAddress && phys - cpuAddress < size;
    }

    /** Whether a bus address lies in this BAR. */
    public boolean containsBus(long bus) {
        return bus >= busAddress && bus - busAddress < size;
    }

    @Override
    public String toString() {
        return String.format("%s.bar%d %s cpu 0x%x bus 0x%x size 0x%x", device, index, kind, cpuAddress, busAddress, size);
    }
}
