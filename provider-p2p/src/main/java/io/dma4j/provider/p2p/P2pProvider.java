package io.dma4j.provider.p2p;

import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.DmaRole;
import io.dma4j.spi.DmaSpi;
import io.dma4j.spi.P2pClassifier;
import io.dma4j.spi.RoleContext;

import java.util.Set;

/**
 * The PCI peer-to-peer provider: classifies peer memory from the fabric as the kernel's
 * p2pdma does and allocates peer memory from published BARs. Its role object also
 * implements {@link io.dma4j.api.PeerMemoryAllocator}.
 *
 * <p>Settings ({@code dma4j.p2p.*}): {@code seed}, the seed of the random choice among
 * equally close providers in {@code findBest} (default: a fresh seed each run).
 */
public final class P2pProvider implements DmaProvider {
    /** The provider's name. */
    public static final String NAME = "p2p";

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
        return Set.of(DmaRole.P2P_CLASSIFIER);
    }

    @Override
    public P2pClassifier createP2pClassifier(RoleContext ctx) {
        long seed = ctx.settings().getLong("seed", System.nanoTime());
        return new FabricP2p(ctx.machine(), seed);
    }
}
