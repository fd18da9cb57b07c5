package io.dma4j.provider.iommu;

import io.dma4j.platform.IommuUnit;
import io.dma4j.platform.Machine;
import io.dma4j.platform.device.Device;
import io.dma4j.spi.BackendContext;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.DmaRole;
import io.dma4j.spi.DmaSpi;
import io.dma4j.spi.MappingBackend;
import io.dma4j.spi.ProviderSettings;

import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The dma-iommu provider: serves devices behind a translating IOMMU unit, with priority
 * {@value #PRIORITY} over dma-direct. Devices of one IOMMU group share one domain; a group
 * with an untrusted device gets a strict domain whatever the mode. A new domain reserves its
 * host bridge's memory windows and the MSI window ({@code iova_reserve_iommu_regions}; see
 * {@link DomainReservations}).
 *
 * <p>Settings ({@code dma4j.iommu.*}):
 * <ul>
 * <li>{@code mode}: {@code lazy} (default, as on x86) or {@code strict};</li>
 * <li>{@code flushQueue}: {@code per-thread} (256 entries, 10 ms; default) or {@code single} (32768, 1 s);</li>
 * <li>{@code format}: {@code x86-64} (default), {@code arm-lpae-4k}, {@code arm-lpae-16k}, {@code arm-lpae-64k};</li>
 * <li>{@code iotlbEntries}: IOTLB capacity, a power of two (default 256);</li>
 * <li>{@code invalidationNs}: simulated cost of one hardware invalidation, busy-waited (default 0);</li>
 * <li>{@code forcedac}: skip the below-4-GiB-first policy for PCI devices ({@code iommu.forcedac=1}; default false).</li>
 * </ul>
 */
public final class IommuProvider implements DmaProvider {
    /** The provider's name. */
    public static final String NAME = "iommu";
    /** Above dma-direct's 0. */
    public static final int PRIORITY = 10;

    private final Map<Machine, Map<String, IommuDomain>> domains = new IdentityHashMap<>();

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
    public int priority() {
        return PRIORITY;
    }

    @Override
    public boolean canServe(Machine machine, Device device) {
        IommuUnit unit = machine.iommuOf(device);
        return unit != null && unit.translating();
    }

    @Override
    public MappingBackend createBackend(BackendContext ctx) {
        Machine m = ctx.machine();
        Device d = ctx.device();
        if (!canServe(m, d)) {
            throw new IllegalStateException("iommu: device " + d.name() + " is not behind a translating IOMMU unit");
        }
        ProviderSettings s = ctx.settings();
        return new IommuBackend(ctx, domainFor(m, d, s, ctx.clock()), s.getBoolean("forcedac", false));
    }

    private synchronized IommuDomain domainFor(Machine m, Device d, ProviderSettings s, io.dma4j.spi.DmaClock clock) {
        String key = d.iommu() + "/" + d.iommuGroup();
        return domains.computeIfAbsent(m, k -> new HashMap<>()).computeIfAbsent(key, k -> {
            String mode = s.get("mode", "lazy");
            if (!mode.equals("lazy") && !mode.equals("strict")) {
                throw new IllegalArgumentException("dma4j.iommu.mode=" + mode + " (expected: lazy or strict)");
            }
            String fq = s.get("flushQueue", "per-thread");
            if (!fq.equals("per-thread") && !fq.equals("single")) {
                throw new IllegalArgumentException("dma4j.iommu.flushQueue=" + fq + " (expected: per-thread or single)");
            }
            boolean untrustedInGroup = false;
            for (Device other : m.devices()) {
                if (d.iommu().equals(other.iommu()) && other.iommuGroup() == d.iommuGroup()) {
                    untrustedInGroup |= other.attributes().untrusted();
                }
            }
            boolean strict = mode.equals("strict") || untrustedInGroup; // untrusted devices always get strict invalidation
            PageTableFormat format = PageTableFormat.ofConfigName(s.get("format", "x86-64"));
            return new IommuDomain(d.iommu(), d.iommuGroup(), format, strict,
                    fq.equals("single"), (int) s.getLong("iotlbEntries", 256), s.getLong("invalidationNs", 0), clock,
                    DomainReservations.of(m, d, format));
        });
    }
}
