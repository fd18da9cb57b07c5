package io.dma4j.conformance;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMappingException;
import io.dma4j.api.IovaState;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.device.CopyEngine;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The contract of a mapping backend (the kernel's {@code dma_map_ops}), checked from the
 * device's side on the kit machine. Extend it in your test sources:
 * <pre>{@code
 * class AcmeConformanceTest extends MappingBackendContract {
 *     protected DmaProvider provider() { return new AcmeProvider(); }
 *     protected Set<Capability> capabilities() { return Set.of(Capability.TRANSLATES); }
 * }
 * }</pre>
 */
public abstract class MappingBackendContract extends BackendFixture {

    @Test
    @Tag("required")
    @DisplayName("required: dma_map_phys — the device reads what the CPU wrote, the CPU reads what the device wrote after unmap")
    void required_mapPhys_bytesArriveAndComeBack() {
        long src = pages(1) + 0x40;
        long dst = pages(1) + 0x80;
        fill(src, 6000, 1);
        long s = backend.mapPhys(src, 6000, DmaDirection.TO_DEVICE, 0);
        long d = backend.mapPhys(dst, 6000, DmaDirection.FROM_DEVICE, 0);
        assertEquals(CopyEngine.STATUS_DONE, deviceCopy(s, d, 6000), "the device could not copy through the mappings");
        backend.unmapPhys(d, 6000, DmaDirection.FROM_DEVICE, 0);
        backend.unmapPhys(s, 6000, DmaDirection.TO_DEVICE, 0);
        assertTrue(holds(dst, 6000, 1), "the bytes did not arrive");
    }

    @Test
    @Tag("required")
    @DisplayName("required: dma_sync_single_for_cpu — device writes are visible to the CPU after a sync, before unmap")
    void required_syncForCpu_showsDeviceWrites() {
        long src = pages(0);
        long dst = pages(0);
        fill(src, 4096, 2);
        long s = backend.mapPhys(src, 4096, DmaDirection.TO_DEVICE, 0);
        long d = backend.mapPhys(dst, 4096, DmaDirection.FROM_DEVICE, 0);
        assertEquals(CopyEngine.STATUS_DONE, deviceCopy(s, d, 4096));
        backend.syncForCpu(d, 4096, DmaDirection.FROM_DEVICE);
        assertTrue(holds(dst, 4096, 2), "device writes not visible after syncForCpu");
        backend.unmapPhys(d, 4096, DmaDirection.FROM_DEVICE, 0);
        backend.unmapPhys(s, 4096, DmaDirection.TO_DEVICE, 0);
    }

    @Test
    @Tag("required")
    @DisplayName("required: dma_map_sg — the DMA segments carry the entries' bytes in order")
    void required_mapSg_segmentsCarryTheEntries() {
        ScatterList sg = new ScatterList(6);
        long total = 0;
        for (int i = 0; i < 6; i++) {
            long p = pages(0);
            pages(0);
            fill(p, 4096, 10 + i);
            sg.set(i, p, 4096);
            total += 4096;
        }
        long out = pages(3);
        long o = backend.mapPhys(out, total, DmaDirection.FROM_DEVICE, 0);
        int n = backend.mapSg(sg, 6, DmaDirection.TO_DEVICE, 0);
        assertTrue(n >= 1 && n <= 6, "mapSg returned " + n + " segments for 6 entries");
        long at = 0;
        for (int i = 0; i < n; i++) {
            assertEquals(CopyEngine.STATUS_DONE, deviceCopy(sg.dmaAddress(i), o + at, sg.dmaLength(i)), "segment " + i);
            at += sg.dmaLength(i);
        }
        assertEquals(total, at, "the segments do not add up to the entries");
        backend.unmapSg(sg, 6, DmaDirection.TO_DEVICE, 0);
        backend.unmapPhys(o, total, DmaDirection.FROM_DEVICE, 0);
        for (int i = 0; i < 6; i++) {
            assertTrue(holds(out + i * 4096L, 4096, 10 + i), "entry " + i + " did not arrive in order");
        }
    }

    @Test
    @Tag("required")
    @DisplayName("required: dma_alloc_coherent — CPU and device share the memory without syncs")
    void required_coherent_sharedWithoutSyncs() {
        CoherentBuffer b = backend.allocCoherent(8192, 0);
        b.cpu().set(ValueLayout.JAVA_LONG_UNALIGNED, 0, 0x1234_5678_9ABCL);
        assertEquals(CopyEngine.STATUS_DONE, deviceCopy(b.dmaAddress(), b.dmaAddress() + 4096, 8));
        assertEquals(0x1234_5678_9ABCL, b.cpu().get(ValueLayout.JAVA_LONG_UNALIGNED, 4096), "the device's write is not in the CPU view");
        backend.freeCoherent(b.size(), b.cpu(), b.dmaAddress());
    }

    @Test
    @Tag("required")
    @DisplayName("required: the DMA mask — a mapping never ends above the device's mask (bounce, remap or refuse)")
    void required_mask_neverExceeded() {
        backend.setMask(0xFFFF_FFFFL);
        long high = machine.pageAllocator().allocPages(0, 5L << 30, Long.MAX_VALUE);
        fill(high, 4096, 3);
        long d;
        try {
            d = backend.mapPhys(high, 4096, DmaDirection.TO_DEVICE, 0);
        } catch (DmaMappingException refused) {
            return; // refusing is allowed
        }
        assertTrue(Long.compareUnsigned(d + 4095, 0xFFFF_FFFFL) <= 0, String.format("mapped to 0x%x, above the 32-bit mask", d));
        long out = pages(0);
        long o = backend.mapPhys(out, 4096, DmaDirection.FROM_DEVICE, 0);
        assertEquals(CopyEngine.STATUS_DONE, deviceCopy(d, o, 4096));
        backend.unmapPhys(o, 4096, DmaDirection.FROM_DEVICE, 0);
        backend.unmapPhys(d, 4096, DmaDirection.TO_DEVICE, 0);
        assertTrue(holds(out, 4096, 3), "the bytes did not arrive through the in-mask address");
    }

    @Test
    @Tag("required")
    @DisplayName("required: concurrency — live mappings made by two threads never share a DMA address")
    void required_concurrentMappings_neverShareAnAddress() throws Exception {
        int perThread = 64;
        long[] bufs = new long[2 * perThread];
        for (int i = 0; i < bufs.length; i++) {
            bufs[i] = pages(0);
        }
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Future<long[]>> fs = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            int base = t * perThread;
            Callable<long[]> job = () -> {
                long[] out = new long[perThread];
                for (int i = 0; i < perThread; i++) {
                    out[i] = backend.mapPhys(bufs[base + i], 4096, DmaDirection.BIDIRECTIONAL, 0);
                }
                return out;
            };
            fs.add(pool.submit(job));
        }
        long[] all = new long[2 * perThread];
        for (int t = 0; t < 2; t++) {
            System.arraycopy(fs.get(t).get(), 0, all, t * perThread, perThread);
        }
        pool.shutdown();
        for (int i = 0; i < all.length; i++) {
            for (int j = i + 1; j < all.length; j++) {
                if (all[i] < all[j] + 4096 && all[j] < all[i] + 4096) {
                    fail(String.format("mappings %d and %d overlap at 0x%x / 0x%x", i, j, all[i], all[j]));
                }
            }
        }
        for (int i = 0; i < all.length; i++) {
            backend.unmapPhys(all[i], 4096, DmaDirection.BIDIRECTIONAL, 0);
        }
    }

    @Test
    @Tag("optional")
    @DisplayName("optional (TRANSLATES): dma_unmap_phys — after unmap the device's access faults")
    void optional_unmap_unmappedAddressFaults() {
        require(Capability.TRANSLATES);
        long p = pages(0);
        long out = pages(0);
        long d = backend.mapPhys(p, 4096, DmaDirection.BIDIRECTIONAL, 0);
        long o = backend.mapPhys(out, 4096, DmaDirection.FROM_DEVICE, 0);
        backend.unmapPhys(d, 4096, DmaDirection.BIDIRECTIONAL, 0);
        long faults = machine.faultLog().count();
        assertEquals(CopyEngine.STATUS_FAULT, deviceCopy(d, o, 8), "the device still reaches an unmapped address");
        assertEquals(faults + 1, machine.faultLog().count(), "no fault was recorded");
        backend.unmapPhys(o, 4096, DmaDirection.FROM_DEVICE, 0);
    }

    @Test
    @Tag("required")
    @DisplayName("required: dma_iova_try_alloc — false clears the state, and mapping range by range works")
    void required_twoStep_falseMeansFallbackWorks() {
        IovaState st = new IovaState();
        io.dma4j.spi.MappingStates.setIova(st, 0x1000, 0x1000); // a stale state: try-alloc must clear it first
        long p = pages(0);
        if (backend.iovaTryAlloc(st, p, 4096)) {
            assertTrue(st.useIova(), "try-alloc answered true but the state holds no IOVA");
            backend.iovaFree(st);
            return;
        }
        assertFalse(st.useIova(), "try-alloc answered false but left the state in use");
        long d = backend.mapPhys(p, 4096, DmaDirection.BIDIRECTIONAL, 0);
        backend.unmapPhys(d, 4096, DmaDirection.BIDIRECTIONAL, 0);
    }

    /** The sizes the sweeps use: sub-page, odd, exactly a page, multi-page, a 64 KiB segment, and across 4 KiB boundaries. */
    protected static final long[] SWEEP_SIZES = {1, 511, 4095, 4096, 4097, 3 * 4096 + 17, 65536};
    /** The offsets within a page the sweeps start at. */
    protected static final long[] SWEEP_OFFSETS = {0, 1, 0x40, 0xFFF};

    @Test
    @Tag("required")
    @DisplayName("required: dma_map_phys (Documentation/core-api/dma-api.rst, 'dma_map_single') — two live mappings never share a bus address range, at any size and offset")
    void required_liveMappings_neverShareABusRange() {
        int n = SWEEP_SIZES.length * SWEEP_OFFSETS.length;
        long[] dma = new long[n];
        long[] size = new long[n];
        long[] phys = new long[n];
        int k = 0;
        for (long sz : SWEEP_SIZES) {
            for (long off : SWEEP_OFFSETS) {
                phys[k] = pages(5) + off; // 128 KiB blocks: no two buffers share a page
                size[k] = sz;
                fill(phys[k] & ~7L, (sz + 15) & ~7L, 100 + k);
                dma[k] = backend.mapPhys(phys[k], sz, DmaDirection.TO_DEVICE, 0);
                k++;
            }
        }
        try {
            for (int i = 0; i < n; i++) {
                for (int j = i + 1; j < n; j++) {
                    if (Long.compareUnsigned(dma[i], dma[j] + size[j]) < 0 && Long.compareUnsigned(dma[j], dma[i] + size[i]) < 0) {
                        fail(String.format("live mappings share bus addresses: [0x%x +%d] (phys 0x%x) and [0x%x +%d] (phys 0x%x)",
                                dma[i], size[i], phys[i], dma[j], size[j], phys[j]));
                    }
                }
            }
            long out = pages(5);
            long o = backend.mapPhys(out, 65536, DmaDirection.FROM_DEVICE, 0);
            for (int i = 0; i < n; i++) {
                assertEquals(CopyEngine.STATUS_DONE, deviceCopy(dma[i], o, size[i]), "mapping " + i);
                backend.syncForCpu(o, 65536, DmaDirection.FROM_DEVICE);
                for (long b = 0; b < size[i]; b++) {
                    if (cpu.readByte(out + b) != cpu.readByte(phys[i] + b)) {
                        fail(String.format("mapping %d (size %d, offset 0x%x) carries another buffer's bytes at byte %d", i, size[i], phys[i] & 0xFFF, b));
                    }
                }
                backend.syncForDevice(o, 65536, DmaDirection.FROM_DEVICE);
            }
            backend.unmapPhys(o, 65536, DmaDirection.FROM_DEVICE, 0);
        } finally {
            for (int i = 0; i < n; i++) {
                backend.unmapPhys(dma[i], size[i], DmaDirection.TO_DEVICE, 0);
            }
        }
    }

    @Test
    @Tag("required")
    @DisplayName("required: dma_alloc_coherent with dma_set_coherent_mask (Documentation/core-api/dma-api.rst) — the allocation lies under the coherent mask")
    void required_coherent_respectsTheCoherentMask() {
        backend.setCoherentMask(0xFFFF_FFFFL);
        machine.pageAllocator().allocPages(10, 0, 1L << 32); // some low memory taken: a careless allocator may go high
        for (long sz : new long[] {1, 4096, 4097, 65536, 1L << 20}) {
            CoherentBuffer b;
            try {
                b = backend.allocCoherent(sz, 0);
            } catch (DmaMappingException refused) {
                continue; // nothing reachable under the mask (a large DMA range offset): refusing is right
            }
            try {
                assertTrue(Long.compareUnsigned(b.dmaAddress() + sz - 1, 0xFFFF_FFFFL) <= 0,
                        String.format("a %d-byte coherent allocation at 0x%x ends above the 32-bit coherent mask", sz, b.dmaAddress()));
                b.cpu().set(ValueLayout.JAVA_BYTE, 0, (byte) 0x5A);
                assertEquals(CopyEngine.STATUS_DONE, deviceCopy(b.dmaAddress(), b.dmaAddress() + sz - 1, 1), "the device cannot reach it");
                assertEquals((byte) 0x5A, b.cpu().get(ValueLayout.JAVA_BYTE, sz - 1));
            } finally {
                backend.freeCoherent(b);
            }
        }
    }

    @Test
    @Tag("optional")
    @DisplayName("optional (TRANSLATES): dma_unmap_phys (Documentation/core-api/dma-api.rst: only what was mapped) — an unmap of an address never handed out is refused and changes nothing")
    void optional_unmap_foreignAddressIsRefused() {
        require(Capability.TRANSLATES);
        long p = pages(0);
        long out = pages(0);
        fill(p, 4096, 7);
        long d = backend.mapPhys(p, 4096, DmaDirection.TO_DEVICE, 0);
        long o = backend.mapPhys(out, 4096, DmaDirection.FROM_DEVICE, 0);
        long foreign = Math.max(d, o) + (1L << 24); // 16 MiB past the live mappings: never handed out here
        try {
            backend.unmapPhys(foreign, 4096, DmaDirection.TO_DEVICE, 0);
            fail(String.format("unmapping 0x%x, which was never mapped, was accepted", foreign));
        } catch (io.dma4j.api.DmaApiMisuseException expected) {
            // refused
        }
        assertEquals(CopyEngine.STATUS_DONE, deviceCopy(d, o, 4096), "the live mappings stopped working");
        backend.unmapPhys(o, 4096, DmaDirection.FROM_DEVICE, 0);
        backend.unmapPhys(d, 4096, DmaDirection.TO_DEVICE, 0);
        assertTrue(holds(out, 4096, 7));
    }
}
