/**
 * Drivers ported onto the DMA API and the device models they drive: the block DMA
 * iterator, the NVMe driver (PRPs and SGLs) and the NVMe controller model. Requires the
 * API and the platform only.
 */
module io.dma4j.consumers {
    requires transitive io.dma4j.api;

    exports io.dma4j.consumers.block;
    exports io.dma4j.consumers.nvme;

    provides io.dma4j.platform.device.DeviceModelFactory with io.dma4j.consumers.nvme.NvmeController.Factory;
}
