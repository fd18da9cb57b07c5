package io.dma4j.provider.direct;

import io.dma4j.spi.BackendContext;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.DmaRole;
import io.dma4j.spi.DmaSpi;
import io.dma4j.spi.MappingBackend;

import java.util.Set;

/**
 * The dma-direct provider: a mapping backend for devices that are not translated by an
 * IOMMU (or whose IOMMU domain is identity). Priority 0, serves every device.
 *
 * <p>Settings: {@code dma4j.direct.forceBounce} (default false; the kernel's
 * {@code swiotlb=force}): bounce every streaming mapping. Machines with encrypted memory
 * bounce every streaming mapping regardless.
 */
public final class DirectProvider implements DmaProvider {
    /** The provider's name. */
    public static final String NAME = "direct";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String spiVersion() {
        return DmaSpi.VERSION;
    }

    @Override
    public Set<DmaRole> roles() {
        return Set.of(DmaRole.MAPPING_BACKEND);
    }

    @Override
    public MappingBackend createBackend(BackendContext context) {
        return new DirectBackend(context);
    }
}
