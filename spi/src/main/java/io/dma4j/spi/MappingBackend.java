package io.dma4j.spi;

import io.dma4j.api.DmaMapper;

import java.util.Map;

/**
 * The mapping role for one device: the kernel's {@code dma_map_ops} bound to a device.
 * It implements the whole {@link DmaMapper} surface; the runtime validates arguments
 * (sizes, wrap-around, directions, attribute bits, the two-step calls' offsets) before
 * calling it, and adds DMA-debug checks and statistics around it, so a backend does the
 * mapping work only.
 *
 * <p>A backend that translates attaches its {@link io.dma4j.platform.device.DmaTranslation}
 * to the device's DMA port when created, and detaches it in {@link #release()}.
 *
 * <p>Thread safety: must be safe for concurrent use, like {@link DmaMapper}.
 */
public interface MappingBackend extends DmaMapper {
    /** The name of the provider that made this backend. */
    String providerName();

    /** The device is being released: detach translations, free per-device state. */
    void release();

    /**
     * Figures the backend keeps for statistics (for example "iova.inUse", "iotlb.flushes"),
     * by name. Called rarely (statistics views); may allocate.
     */
    default Map<String, Long> gauges() {
        return Map.of();
    }
}
