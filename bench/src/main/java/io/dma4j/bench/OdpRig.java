package io.dma4j.bench;

import io.dma4j.consumers.mm.HmmDmaMap;
import io.dma4j.consumers.mm.ProcessMemory;
import io.dma4j.consumers.rdma.OdpMr;
import io.dma4j.consumers.rdma.RnicDriver;
import io.dma4j.platform.Machine;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;

import java.util.Map;

/**
 * What the ODP benchmarks measure on: the default machine with {@code rnic0} behind IOMMU
 * strict (DMA-debug and statistics off), the RNIC driver, and a 2 MiB ODP region whose CPU
 * pages are populated once, so fault-in is the DMA side only. Nothing is faulted in.
 */
final class OdpRig implements AutoCloseable {
    /** The region: 512 pages. */
    static final long REGION = 2L << 20;
    final Machine machine;
    final DmaRuntime runtime;
    final RnicDriver nic;
    final ProcessMemory mm;
    final OdpMr mr;
    final long va;

    OdpRig(HmmDmaMap.Design design, long invalidationNs) {
        machine = Machine.createDefault();
        runtime = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(Map.of(RuntimeConfig.DEBUG, "false", RuntimeConfig.STATS, "false",
                "dma4j.backend.rnic0", "iommu", "dma4j.iommu.mode", "strict", "dma4j.iommu.invalidationNs", Long.toString(invalidationNs)))).build();
        nic = new RnicDriver(runtime.mapper("rnic0"), machine.addressSpace());
        mm = new ProcessMemory(machine.addressSpace(), machine.pageAllocator());
        va = mm.mmap(REGION, true, false);
        for (long p = 0; p < REGION; p += ProcessMemory.PAGE_SIZE) {
            mm.write(va + p, new byte[] {1});
        }
        mr = nic.registerOdp(mm, va, REGION, true, design, System::nanoTime);
    }

    /** Fault-in of the whole region with write access. */
    int faultIn() {
        return mr.prefetch(va, REGION, true);
    }

    /** Invalidation of the whole region: an mprotect that keeps it writable (PROTECTION_VMA), so the CPU page tables stay. */
    long invalidate() {
        mm.mprotect(va, REGION, true);
        return mm.invalidations();
    }

    @Override
    public void close() {
        mr.close();
        nic.close();
        mm.close();
        runtime.close();
        machine.close();
    }
}
