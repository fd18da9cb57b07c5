package io.dma4j.provider.p2p;

import io.dma4j.platform.fault.FaultInjector;
import io.dma4j.api.DmaMappingException;
import io.dma4j.api.P2pMapType;
import io.dma4j.api.PeerMemoryAllocator;
import io.dma4j.platform.Machine;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.memory.PageAllocator;
import io.dma4j.platform.pci.Bar;
import io.dma4j.platform.pci.PciNode;
import io.dma4j.platform.pci.PciPath;
import io.dma4j.spi.P2pClassifier;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Peer-to-peer classification and peer memory over the machine's fabric
 * ({@code drivers/pci/p2pdma.c}):
 * <ul>
 * <li>both ends below a common switch port, with no ACS redirect on the path: {@link P2pMapType#BUS_ADDR}
 *     (the switch turns the traffic around; the device uses the peer's bus address);</li>
 * <li>otherwise (different root ports, or ACS forcing traffic upstream) the route crosses
 *     the host bridge: {@link P2pMapType#THRU_HOST_BRIDGE} when the CPU or the host-bridge
 *     whitelist allows it ({@link HostBridgeRule}), else {@link P2pMapType#NOT_SUPPORTED};</li>
 * <li>functions of one multi-function device meet at their port (distance 2), a virtual
 *     function's walk goes from its physical function's port, a root-complex integrated
 *     endpoint has no upstream bridge, and a function's own ACS counts like a port's;</li>
 * <li>a hot-removed device, or one that is not on PCI, is {@link P2pMapType#NOT_SUPPORTED}.</li>
 * </ul>
 * Results are cached per (provider, client) and recomputed when the fabric changes.
 *
 * <p>Thread safety: safe for concurrent use.
 */
final class FabricP2p implements P2pClassifier, PeerMemoryAllocator {
    private record Result(P2pMapType type, int distance, String reason, long generation) {
    }

    /** One provider's registered peer memory: page-granular, first fit. */
    private static final class Pool {
        final Bar bar;
        final long base;
        final int pages;
        final BitSet used;
        final Map<Long, Integer> live = new HashMap<>();
        boolean published;

        Pool(Bar bar, long base, int pages) {
            this.bar = bar;
            this.base = base;
            this.pages = pages;
            this.used = new BitSet(pages);
        }
    }

    private final Machine machine;
    private final SplittableRandom random;
    private final Map<String, Result> cache = new ConcurrentHashMap<>();
    private final Map<String, Pool> pools = new ConcurrentHashMap<>();

    FabricP2p(Machine machine, long seed) {
        this.machine = machine;
        this.random = new SplittableRandom(seed);
    }

    // ---------------------------------------------------------------- classification

    private Result result(Device provider, Device client) {
        String key = provider.name() + '\u0000' + client.name();
        long gen = machine.fabric().generation();
        Result r = cache.get(key);
        if (r == null || r.generation != gen) {
            r = compute(provider, client, gen);
            cache.put(key, r);
        }
        return r;
    }

    private Result compute(Device provider, Device client, long gen) {
        if (provider.removed() || client.removed()) {
            return new Result(P2pMapType.NOT_SUPPORTED, -1, (provider.removed() ? provider : client).name() + " was hot-removed", gen);
        }
        if (provider.slot() == null || client.slot() == null) {
            return new Result(P2pMapType.NOT_SUPPORTED, -1, (provider.slot() == null ? provider : client).name() + " is not a PCI device", gen);
        }
        PciPath path = PciPath.between(provider.slot(), client.slot());
        if (path.staysBelowSwitch()) {
            return new Result(P2pMapType.BUS_ADDR, path.distance(), "both below " + path.common().name() + ", no ACS redirect", gen);
        }
        String why = path.common() == null ? "no common switch" : "ACS redirect at " + String.join(", ", path.acsRedirect());
        PciNode a = provider.slot().hostBridge();
        PciNode b = client.slot().hostBridge();
        String allowed = HostBridgeRule.allowedBecause(machine.cpu(), a, b);
        if (allowed != null) {
            return new Result(P2pMapType.THRU_HOST_BRIDGE, path.distance(), why + "; " + allowed, gen);
        }
        return new Result(P2pMapType.NOT_SUPPORTED, path.distance(), why + ", and " + HostBridgeRule.refusedBecause(a, b), gen);
    }

    @Override
    public P2pMapType classify(Device client, Bar peerMemory) {
        return result(machine.device(peerMemory.device()), client).type;
    }

    @Override
    public String explain(Device client, Bar peerMemory) {
        return result(machine.device(peerMemory.device()), client).reason;
    }

    /** The map type and distance between two devices (for listings). */
    P2pMapType mapType(Device provider, Device client) {
        return result(provider, client).type;
    }

    int distanceOf(Device provider, Device client) {
        return result(provider, client).distance;
    }

    // ---------------------------------------------------------------- peer memory

    @Override
    public void publish(Device provider, int barIndex, long offset, long size) {
        Bar bar = provider.bar(barIndex);
        if (bar.kind() != Bar.Kind.MEMORY) {
            throw new IllegalArgumentException(provider.name() + ".bar" + barIndex + " is a register BAR, not memory");
        }
        long len = size == 0 ? bar.size() - offset : size;
        if (offset < 0 || offset >= bar.size() || len <= 0 || offset + len > bar.size()) {
            throw new IllegalArgumentException(String.format("%s.bar%d: offset 0x%x size 0x%x leave the BAR of 0x%x bytes",
                    provider.name(), barIndex, offset, len, bar.size()));
        }
        Pool p = new Pool(bar, bar.cpuAddress() + offset, (int) (len / PageAllocator.PAGE_SIZE));
        p.published = true;
        if (pools.putIfAbsent(provider.name(), p) != null) {
            throw new IllegalArgumentException(provider.name() + " already has published peer memory");
        }
    }

    @Override
    public long alloc(Device provider, long size) {
        if (size <= 0) {
            // pci_alloc_p2pmem hands out nothing for 0 (gen_pool_alloc returns 0), and a negative size_t is larger than any pool
            throw new IllegalArgumentException(String.format("%s: peer-memory alloc(size %d): size must be > 0", provider.name(), size));
        }
        Pool p = pools.get(provider.name());
        if (p == null || provider.removed()) {
            throw new DmaMappingException(provider.name(), 0, size, p == null ? "no peer memory published" : "the provider was hot-removed");
        }
        FaultInjector faults = machine.faultInjector();
        if (faults.armed() && faults.shouldFail(FaultInjector.Point.P2PMEM, provider.name())) {
            throw new DmaMappingException(provider.name(), 0, size, "peer memory exhausted: injected failure (p2pmem)");
        }
        long pagesWanted = (size - 1) / PageAllocator.PAGE_SIZE + 1; // no overflow near Long.MAX_VALUE
        if (pagesWanted > p.pages) {
            throw new DmaMappingException(provider.name(), 0, size, String.format("peer memory exhausted: %d pages asked, the pool has %d", pagesWanted, p.pages));
        }
        int n = (int) pagesWanted;
        synchronized (p) {
            int start = 0;
            while (start + n <= p.pages) {
                int busy = p.used.nextSetBit(start);
                if (busy < 0 || busy >= start + n) {
                    p.used.set(start, start + n);
                    long phys = p.base + start * PageAllocator.PAGE_SIZE;
                    p.live.put(phys, n);
                    return phys;
                }
                start = p.used.nextClearBit(busy);
            }
        }
        throw new DmaMappingException(provider.name(), 0, size, String.format("peer memory exhausted: %d of %d pages free, no run of %d",
                p.pages - p.used.cardinality(), p.pages, n));
    }

    @Override
    public void free(Device provider, long phys, long size) {
        Pool p = pools.get(provider.name());
        if (p == null) {
            throw new IllegalArgumentException(provider.name() + " has no peer memory");
        }
        synchronized (p) {
            Integer n = p.live.remove(phys);
            if (n == null) {
                throw new IllegalArgumentException(String.format("%s: 0x%x is not an allocation of its peer memory", provider.name(), phys));
            }
            int start = (int) ((phys - p.base) / PageAllocator.PAGE_SIZE);
            p.used.clear(start, start + n);
        }
    }

    @Override
    public long available(Device provider) {
        Pool p = pools.get(provider.name());
        if (p == null) {
            return 0;
        }
        synchronized (p) {
            return (p.pages - p.used.cardinality()) * PageAllocator.PAGE_SIZE;
        }
    }

    @Override
    public int distance(Device provider, List<Device> clients) {
        if (clients.isEmpty()) {
            return -1;
        }
        int sum = 0;
        for (Device c : clients) {
            Result r = result(provider, c);
            if (r.type == P2pMapType.NOT_SUPPORTED) {
                return -1;
            }
            sum += r.distance;
        }
        return sum;
    }

    @Override
    public Device findBest(List<Device> clients) {
        List<Device> best = new ArrayList<>();
        int bestDistance = Integer.MAX_VALUE;
        for (Device d : machine.devices()) {
            Pool p = pools.get(d.name());
            if (p == null || !p.published || d.removed()) {
                continue;
            }
            int dist = distance(d, clients);
            if (dist < 0 || dist > bestDistance) {
                continue;
            }
            if (dist < bestDistance) {
                best.clear();
                bestDistance = dist;
            }
            best.add(d);
        }
        if (best.isEmpty()) {
            return null;
        }
        synchronized (random) {
            return best.get(random.nextInt(best.size()));
        }
    }
}
