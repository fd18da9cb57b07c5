package io.dma4j.provider.swiotlb;

import io.dma4j.platform.ByteSize;
import io.dma4j.platform.Machine;
import io.dma4j.spi.BounceService;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.DmaRole;
import io.dma4j.spi.DmaSpi;
import io.dma4j.spi.ProviderSettings;
import io.dma4j.spi.RoleContext;

import java.util.Set;

/**
 * The swiotlb provider: the machine's bounce-buffer role.
 *
 * <p>Settings ({@code dma4j.swiotlb.*}):
 * <ul>
 * <li>{@code size}: pool size ("64MiB"); default 64 MiB, or on machines with encrypted
 *     memory 6 % of DRAM clamped to [64 MiB, 1 GiB], as x86 SEV/TDX guests size it;</li>
 * <li>{@code areas}: areas per pool, a power of two; default the processor count rounded
 *     up to a power of two (the kernel's default);</li>
 * <li>{@code dynamic}: add pools when full (the kernel's CONFIG_SWIOTLB_DYNAMIC); default false;</li>
 * <li>{@code limit}: physical address the pool should lie below; default 4 GiB.</li>
 * </ul>
 */
public final class SwiotlbProvider implements DmaProvider {
    /** The provider's name. */
    public static final String NAME = "swiotlb";
    static final long DEFAULT_SIZE = 64L << 20;

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
        return Set.of(DmaRole.BOUNCE_SERVICE);
    }

    @Override
    public BounceService createBounceService(RoleContext ctx) {
        ProviderSettings s = ctx.settings();
        Machine m = ctx.machine();
        String sizeText = s.get("size", null);
        long size = sizeText == null ? defaultSize(m) : ByteSize.parse(sizeText);
        if (size < Swiotlb.MIN_POOL) {
            throw new IllegalArgumentException("dma4j.swiotlb.size=" + sizeText + " (expected: at least 1MiB)");
        }
        int areas = (int) s.getLong("areas", Integer.highestOneBit(Math.max(1, Runtime.getRuntime().availableProcessors() * 2 - 1)));
        if (areas < 1 || Integer.bitCount(areas) != 1) {
            throw new IllegalArgumentException("dma4j.swiotlb.areas=" + areas + " (expected: a power of two)");
        }
        String limitText = s.get("limit", null);
        long limit = limitText == null ? 1L << 32 : ByteSize.parse(limitText);
        return new Swiotlb(m, size, areas, s.getBoolean("dynamic", false), limit);
    }

    /** 64 MiB; with encrypted memory 6 % of DRAM between 64 MiB and 1 GiB. */
    static long defaultSize(Machine m) {
        if (!m.encryptedMemory()) {
            return DEFAULT_SIZE;
        }
        long six = m.addressSpace().dramSize() * 6 / 100;
        return Math.min(1L << 30, Math.max(DEFAULT_SIZE, six));
    }
}
