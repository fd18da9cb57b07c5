/**
 * Drivers ported onto the DMA API and the device models they drive, in separate packages:
 * drivers ({@code io.dma4j.consumers.*}: the block DMA iterator, the NVMe driver) require
 * the API and the platform only; device models ({@code io.dma4j.devices.*}: the NVMe
 * controller) require the platform only; the hardware interfaces both sides speak
 * ({@code io.dma4j.hw.*}: register layouts, command formats) depend on nothing. A driver
 * never imports a device model: it reaches the device through BARs, queues in DMA memory
 * and completions, as on real hardware (the architecture test holds this).
 */
module io.dma4j.consumers {
    requires transitive io.dma4j.api;
    requires jdk.jfr;

    exports io.dma4j.consumers.block;
    exports io.dma4j.hw;
    exports io.dma4j.consumers.nvme;
    exports io.dma4j.consumers.mm;
    exports io.dma4j.hw.nvme;
    exports io.dma4j.devices.nvme;
    exports io.dma4j.consumers.rdma;
    exports io.dma4j.hw.rnic;
    exports io.dma4j.devices.rnic;
    exports io.dma4j.consumers.vfio;
    exports io.dma4j.consumers.dmabuf;
    exports io.dma4j.hw.mlx5vf;
    exports io.dma4j.devices.mlx5vf;

    provides io.dma4j.platform.device.DeviceModelFactory with io.dma4j.devices.nvme.NvmeController.Factory,
            io.dma4j.devices.rnic.RnicModel.Factory,
            io.dma4j.devices.mlx5vf.Mlx5VfModel.Factory;
}
