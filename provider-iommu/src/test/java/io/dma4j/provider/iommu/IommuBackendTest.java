package io.dma4j.provider.iommu;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.MisuseCheck;
import io.dma4j.api.IovaState;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.Machine;
import io.dma4j.platform.device.CopyEngine;
import io.dma4j.platform.device.FaultReason;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;
import io.dma4j.spi.ManualClock;
import io.dma4j.spi.Metrics;
import io.dma4j.runtime.testing.Bytes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

import static io.dma4j.api.DmaDirection.BIDIRECTIONAL;
import static io.dma4j.api.DmaDirection.FROM_DEVICE;
import static io.dma4j.api.DmaDirection.TO_DEVICE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** dma-iommu seen from the device: bytes through IOVAs, faults after unmaps, stale IOTLB hits in lazy mode. */
class IommuBackendTest {
    private Machine machine;
    private DmaRuntime rt;
    private PhysicalAddressSpace cpu;

    private final ManualClock clock = new ManualClock();

    private DmaMapper setUp(String mode, String device, Map<String, String> extra) {
        machine = Machine.createDefault();
        cpu = machine.addressSpace();
        Map<String, String> c = new HashMap<>(extra);
        c.put("dma4j.iommu.mode", mode);
        rt = DmaRuntime.builder().machine(machine).clock(clock).config(RuntimeConfig.of(c)).build();
        return rt.mapper(device);
    }

    @AfterEach
    void close() {
        if (rt != null) {
            rt.close();
        }
        if (machine != null) {
            machine.close();
        }
    }

    private IommuDomain domain(String device) {
        rt.mapper(device); // the backend attaches its group's domain as the device's translation
        return (IommuDomain) rt.machine().device(device).port().translation();
    }

    private long copy(String device, long src, long dst, long len) {
        return CopyEngine.copy(cpu, machine.device(device).bar(0), src, dst, len);
    }

    private long page() {
        return machine.pageAllocator().allocPages(0);
    }

    @Test
    void devicesBehindTheIommuGetItOthersStayDirect() {
        setUp("strict", "dmatest1", Map.of());
        assertThat(rt.backendFor("dmatest1").name()).isEqualTo("iommu");
        assertThat(rt.backendFor("nvme0").name()).isEqualTo("iommu");
        assertThat(rt.backendFor("dmatest0").name()).isEqualTo("direct");
        assertThat(rt.backendFor("legacy32").name()).isEqualTo("direct");
    }

    @Test
    void bytesMoveThroughIovasAndAnUnmappedIovaFaultsInStrictMode() {
        DmaMapper m = setUp("strict", "dmatest1", Map.of());
        long src = page() + 0x123;
        long dst = page();
        Bytes.fill(cpu, src, 3000, 1);
        long s = m.mapPhys(src, 3000, TO_DEVICE, 0);
        long d = m.mapPhys(dst, 4096, FROM_DEVICE, 0);
        assertThat(s).isNotEqualTo(src).isLessThan(1L << 32);
        assertThat(s & 0xFFF).isEqualTo(0x123);
        assertThat(copy("dmatest1", s, d, 3000)).isEqualTo(CopyEngine.STATUS_DONE);
        assertThat(Bytes.mismatch(cpu, dst, 3000, 1)).isEqualTo(-1);
        assertThat(copy("dmatest1", d, s, 16)).as("TO_DEVICE is read-only for the device").isEqualTo(CopyEngine.STATUS_FAULT);
        assertThat(machine.faultLog().last().reason()).isEqualTo(FaultReason.PERMISSION);
        m.unmapPhys(s, 3000, TO_DEVICE, 0);
        assertThat(copy("dmatest1", s, d, 16)).isEqualTo(CopyEngine.STATUS_FAULT);
        assertThat(machine.faultLog().last().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(machine.faultLog().last().busAddress()).isEqualTo(s);
        m.unmapPhys(d, 4096, FROM_DEVICE, 0);
        Map<String, Long> st = rt.statistics("dmatest1").asMap();
        assertThat(st.get("backend.iotlb.misses")).isPositive();
        assertThat(st.get("backend.iotlb.rangeInvalidations")).isEqualTo(2);
        assertThat(st.get("backend.pagetable.pages")).isEqualTo(4);
        assertThat(st).containsEntry("backend.exposures", 0L).containsEntry("backend.strict", 1L);
    }

    @Test
    void lazyModeLeavesAnExposureWindowUntilTheFlush() {
        DmaMapper m = setUp("lazy", "dmatest1", Map.of());
        long victim = page();
        long src = page();
        Bytes.fill(cpu, src, 64, 9);
        long s = m.mapPhys(src, 64, TO_DEVICE, 0);
        long v = m.mapPhys(victim, 4096, FROM_DEVICE, 0);
        assertThat(copy("dmatest1", s, v, 64)).isEqualTo(CopyEngine.STATUS_DONE); // fills the IOTLB entry for v
        m.unmapPhys(v, 4096, FROM_DEVICE, 0);
        cpu.fill(victim, 64, (byte) 0);
        // the page table no longer maps v, but the IOTLB still does: the write lands in the old page
        assertThat(copy("dmatest1", s, v, 64)).isEqualTo(CopyEngine.STATUS_DONE);
        assertThat(Bytes.mismatch(cpu, victim, 64, 9)).isEqualTo(-1);
        assertThat(rt.statistics("dmatest1").asMap()).containsEntry("backend.exposures", 1L).containsEntry("backend.flushQueue.depth", 1L);
        domain("dmatest1").flushNow();
        assertThat(copy("dmatest1", s, v, 64)).isEqualTo(CopyEngine.STATUS_FAULT);
        assertThat(rt.statistics("dmatest1").asMap()).containsEntry("backend.flushQueue.depth", 0L).containsEntry("backend.exposures", 1L);
        m.unmapPhys(s, 64, TO_DEVICE, 0);
    }

    @Test
    void theFlushQueueTimesOutByItselfAfterTenMilliseconds() {
        DmaMapper m = setUp("lazy", "dmatest1", Map.of());
        long p = page();
        long d = m.mapPhys(p, 4096, BIDIRECTIONAL, 0);
        m.unmapPhys(d, 4096, BIDIRECTIONAL, 0);
        assertThat(rt.statistics("dmatest1").get(Metrics.FLUSH_QUEUE_DEPTH)).isEqualTo(1);
        clock.advance(9_999_999); // the per-thread queue's timeout is 10 ms (IOVA_FQ_TIMEOUT in drivers/iommu/dma-iommu.c)
        assertThat(rt.statistics("dmatest1").get(Metrics.FLUSH_QUEUE_DEPTH)).as("not yet").isEqualTo(1);
        assertThat(rt.statistics("dmatest1").get(Metrics.FLUSH_QUEUE_TIMEOUT_FLUSHES)).isZero();
        clock.advance(1);
        assertThat(rt.statistics("dmatest1").get(Metrics.FLUSH_QUEUE_DEPTH)).isZero();
        assertThat(rt.statistics("dmatest1").get(Metrics.FLUSH_QUEUE_TIMEOUT_FLUSHES)).isEqualTo(1);
        assertThat(rt.statistics("dmatest1").get(Metrics.IOVA_IN_USE_GRANULES)).as("the IOVA went back to the allocator").isZero();
        assertThat(copy("dmatest1", d, d, 64)).as("the flushed IOTLB no longer reaches the page").isEqualTo(CopyEngine.STATUS_FAULT);
        assertThat(clock.pendingTimers()).isZero();
    }

    @Test
    void anX86UnmapThatStartsALargePageTakesAllOfItFromTheDevice() {
        // generic_pt __unmap_range (v6.19) removes the whole 2 MiB IOPTE; __iommu_dma_unmap WARNs that unmapped != size
        DmaMapper m = setUp("strict", "dmatest1", Map.of("dma4j.debug", "false"));
        long buf = machine.pageAllocator().allocPages(9); // 2 MiB, 2 MiB-aligned: one large leaf
        long d = m.mapPhys(buf, 2L << 20, BIDIRECTIONAL, 0);
        assertThat(d & ((2L << 20) - 1)).as("a size-aligned IOVA").isZero();
        assertThat(copy("dmatest1", d + (1L << 20), d + (1L << 20) + 64, 64)).isEqualTo(CopyEngine.STATUS_DONE); // warms the IOTLB
        assertThatThrownBy(() -> m.unmapPhys(d, 4096, BIDIRECTIONAL, 0)).isInstanceOfSatisfying(DmaApiMisuseException.class,
                e -> assertThat(e.check()).isEqualTo(MisuseCheck.IOMMU_UNMAP_SIZE));
        assertThat(copy("dmatest1", d + (1L << 20), d + (1L << 20) + 64, 64)).as("the rest of the large page is gone too").isEqualTo(CopyEngine.STATUS_FAULT);
        assertThat(domain("dmatest1").table().leaves()).isZero();
    }

    @Test
    void twoThreadsMisusingOneIovaStateNeverLeaveATranslationOutsideAReservation() throws Exception {
        // destroy in one thread while another links into the same state: the caller's bug (undefined in the kernel),
        // but the model must never leave a page-table entry in IOVA space that no reservation covers
        DmaMapper m = setUp("strict", "dmatest1", Map.of("dma4j.debug", "false"));
        io.dma4j.api.IovaState s = new io.dma4j.api.IovaState();
        long[] pages = new long[16];
        for (int i = 0; i < pages.length; i++) {
            pages[i] = page();
        }
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicLong refused = new java.util.concurrent.atomic.AtomicLong();
        Thread intruder = new Thread(() -> {
            java.util.SplittableRandom rnd = new java.util.SplittableRandom(5);
            while (!stop.get()) {
                try {
                    m.iovaLink(s, pages[rnd.nextInt(16)], 4096L * rnd.nextInt(16), 4096, BIDIRECTIONAL, 0);
                } catch (RuntimeException e) {
                    if (e instanceof DmaApiMisuseException me && me.check() == MisuseCheck.IOVA_CONCURRENT_USE) {
                        refused.incrementAndGet();
                    }
                }
            }
        });
        intruder.start();
        try {
            for (int round = 0; round < 5000; round++) {
                if (!m.iovaTryAlloc(s, 0, 16 * 4096)) {
                    continue;
                }
                long linked = 0;
                for (int i = 0; i < 16; i++) {
                    try {
                        m.iovaLink(s, pages[i], i * 4096L, 4096, BIDIRECTIONAL, 0);
                        linked = (i + 1) * 4096L;
                    } catch (RuntimeException e) {
                        break; // the intruder linked that page first
                    }
                }
                try {
                    m.iovaDestroy(s, linked, BIDIRECTIONAL, 0);
                } catch (RuntimeException e) {
                    m.iovaDestroy(s, 0, BIDIRECTIONAL, 0);
                }
            }
        } finally {
            stop.set(true);
            intruder.join();
        }
        if (s.useIova()) {
            m.iovaDestroy(s, 0, BIDIRECTIONAL, 0);
        }
        assertThat(domain("dmatest1").table().leaves()).as("page-table entries left with every reservation freed").isZero();
        assertThat(rt.statistics("dmatest1").get(Metrics.IOVA_IN_USE_GRANULES)).isZero();
        assertThat(copy("dmatest1", 0x1000, 0x2000, 64)).as("a device DMA to a freed IOVA").isEqualTo(CopyEngine.STATUS_FAULT);
    }

    @Test
    void reportModeGivesTheSameOutcomeForADoubleUnmapOnIommuAsOnDirect() {
        DmaMapper iommu = setUp("strict", "dmatest1", Map.of("dma4j.debug.mode", "report"));
        DmaMapper direct = rt.mapper("dmatest0");
        long p = page();
        for (DmaMapper m : new DmaMapper[] {direct, iommu}) {
            long d = m.mapPhys(p, 4096, TO_DEVICE, 0);
            m.unmapPhys(d, 4096, TO_DEVICE, 0);
            m.unmapPhys(d, 4096, TO_DEVICE, 0); // the kernel WARNs and goes on; so does report mode, whatever the backend
        }
        assertThat(rt.debugReports()).extracting(r -> r.device() + " " + r.check()).containsExactly(
                "dmatest0 UNMAP_NEVER_MAPPED", "dmatest1 UNMAP_NEVER_MAPPED", "dmatest1 IOMMU_UNMAP_NOT_MAPPED");
        assertThat(rt.liveMappings("dmatest0")).isZero();
        assertThat(rt.liveMappings("dmatest1")).isZero();
    }

    @Test
    void aFullPerThreadQueueFlushesAndFreesWhatItHeld() {
        DmaMapper m = setUp("lazy", "dmatest1", Map.of("dma4j.debug", "false"));
        long p = page();
        for (int i = 0; i < 600; i++) {
            m.unmapPhys(m.mapPhys(p, 4096, BIDIRECTIONAL, 0), 4096, BIDIRECTIONAL, 0);
        }
        Map<String, Long> st = rt.statistics("dmatest1").asMap();
        assertThat(st.get("backend.flushQueue.fullFlushes")).as("255 usable slots per ring").isGreaterThanOrEqualTo(2);
        assertThat(st.get("backend.flushQueue.depth")).isLessThanOrEqualTo(255);
        assertThat(st.get("backend.iova.reservedGranules")).as("queued IOVAs are not reused yet, but the queue bounds them")
                .isLessThanOrEqualTo(256 + IovaAllocator.MAG_SIZE * 2L);
    }

    @Test
    void theSingleQueueHoldsUpTo32768Entries() {
        DmaMapper m = setUp("lazy", "dmatest1", Map.of("dma4j.debug", "false", "dma4j.iommu.flushQueue", "single"));
        long p = page();
        for (int i = 0; i < 600; i++) {
            m.unmapPhys(m.mapPhys(p, 4096, BIDIRECTIONAL, 0), 4096, BIDIRECTIONAL, 0);
        }
        assertThat(rt.statistics("dmatest1").asMap()).containsEntry("backend.flushQueue.depth", 600L).containsEntry("backend.flushQueue.fullFlushes", 0L);
        domain("dmatest1").flushNow();
        assertThat(rt.statistics("dmatest1").asMap()).containsEntry("backend.flushQueue.depth", 0L);
    }

    @Test
    void unrelatedDevicesCannotReachEachOthersMappings() {
        DmaMapper m = setUp("strict", "dmatest1", Map.of());
        long p = page();
        long iova = m.mapPhys(p, 4096, BIDIRECTIONAL, 0);
        long other = page();
        rt.mapper("tbt0"); // attach tbt0 to its own group's domain
        assertThat(copy("tbt0", iova, iova, 8)).isEqualTo(CopyEngine.STATUS_FAULT);
        assertThat(machine.faultLog().last().device()).isEqualTo("tbt0");
        assertThat(machine.faultLog().last().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(other).isPositive();
        m.unmapPhys(iova, 4096, BIDIRECTIONAL, 0);
    }

    @Test
    void twoStepLinkSyncAndTheDeviceSeesOneContiguousRange() {
        DmaMapper m = setUp("lazy", "dmatest1", Map.of());
        int n = 32;
        long[] pages = new long[n];
        for (int i = 0; i < n; i++) {
            pages[i] = page();
            page(); // keep them physically apart
            Bytes.fill(cpu, pages[i], 4096, 100 + i);
        }
        IovaState st = new IovaState();
        assertThat(m.iovaTryAlloc(st, pages[0], n * 4096L)).isTrue();
        for (int i = 0; i < n; i++) {
            m.iovaLink(st, pages[i], i * 4096L, 4096, TO_DEVICE, 0);
        }
        m.iovaSync(st, 0, n * 4096L);
        long out = machine.pageAllocator().allocPages(5);
        long outDma = m.mapPhys(out, n * 4096L, FROM_DEVICE, 0);
        assertThat(copy("dmatest1", st.addr(), outDma, n * 4096L)).isEqualTo(CopyEngine.STATUS_DONE);
        for (int i = 0; i < n; i++) {
            assertThat(Bytes.mismatch(cpu, out + i * 4096L, 4096, 100 + i)).as("page %d", i).isEqualTo(-1);
        }
        m.iovaUnlink(st, 5 * 4096L, 4096, TO_DEVICE, 0);
        assertThat(copy("dmatest1", st.addr() + 5 * 4096L, outDma, 8)).as("unlink invalidates at once, even in lazy mode").isEqualTo(CopyEngine.STATUS_FAULT);
        m.iovaLink(st, pages[5], 5 * 4096L, 4096, TO_DEVICE, 0);
        m.iovaSync(st, 5 * 4096L, 4096);
        long iova = st.addr();
        m.iovaDestroy(st, n * 4096L, TO_DEVICE, 0);
        assertThat(st.useIova()).isFalse();
        m.unmapPhys(outDma, n * 4096L, FROM_DEVICE, 0);
        domain("dmatest1").flushNow();
        assertThat(copy("dmatest1", iova, out, 8)).isEqualTo(CopyEngine.STATUS_FAULT);
        assertThat(rt.statistics("dmatest1").asMap().get("backend.iotlb.syncMaps")).isEqualTo(2);
        assertThat(rt.debugReports()).isEmpty();
    }

    @Test
    void onlyTheFirstLinkMayStartMidGranule() {
        DmaMapper m = setUp("strict", "dmatest1", Map.of());
        long a = page();
        long b = page();
        IovaState st = new IovaState();
        assertThat(m.iovaTryAlloc(st, a + 0x200, 0x2000)).isTrue();
        assertThat(st.addr() & 0xFFF).isEqualTo(0x200);
        m.iovaLink(st, a + 0x200, 0, 0xE00, BIDIRECTIONAL, 0);
        assertThatThrownBy(() -> m.iovaLink(st, b + 0x10, 0xE00, 0x100, BIDIRECTIONAL, 0))
                .isInstanceOfSatisfying(DmaApiMisuseException.class, e -> assertThat(e.check().id()).isEqualTo("iova-link-mid-granule"))
                .hasMessageContaining("only the first link may (-EIO)");
        m.iovaLink(st, b, 0xE00, 0x1000, BIDIRECTIONAL, 0);
        m.iovaSync(st, 0, 0x1E00);
        m.iovaDestroy(st, 0x1E00, BIDIRECTIONAL, 0);
    }

    @Test
    void pciDevicesUseIovaBelow4GiBFirstThenTheFullMask() {
        DmaMapper m = setUp("strict", "dmatest1", Map.of());
        IovaState a = new IovaState();
        IovaState b = new IovaState();
        IovaState c = new IovaState();
        // [3 GiB, 4 GiB) holds reserved regions (hb0's BARs from 0xc0000000, the MSI window at 0xfee00000),
        // so the top-down, size-aligned search below 4 GiB finds [2 GiB, 3 GiB) first, then [1 GiB, 2 GiB)
        assertThat(m.iovaTryAlloc(a, 0, 1L << 30)).isTrue();
        assertThat(a.addr()).isEqualTo(2L << 30);
        assertThat(m.iovaTryAlloc(b, 0, 1L << 30)).isTrue();
        assertThat(b.addr()).isEqualTo(1L << 30);
        assertThat(m.iovaTryAlloc(c, 0, 1L << 30)).isTrue();
        assertThat(c.addr()).as("[0, 1 GiB) cannot hold it (IOVA 0 is never used): the full mask from now on").isGreaterThanOrEqualTo(1L << 32);
        long p = m.mapPhys(page(), 4096, TO_DEVICE, 0);
        assertThat(p).as("no more 32-bit-first attempts").isGreaterThanOrEqualTo(1L << 32);
        m.unmapPhys(p, 4096, TO_DEVICE, 0);
        m.iovaFree(a);
        m.iovaFree(b);
        m.iovaFree(c);
    }

    @Test
    void untrustedDevicesBounceUnalignedBuffersWithZeroedPaddingAndAreAlwaysStrict() {
        DmaMapper m = setUp("lazy", "tbt0", Map.of());
        assertThat(rt.statistics("tbt0").asMap()).containsEntry("backend.strict", 1L);
        long buf = page();
        cpu.fill(buf, 4096, (byte) 0x77); // secrets around the buffer
        Bytes.fill(cpu, buf + 0x100, 0x200, 3);
        long dma = m.mapPhys(buf + 0x100, 0x200, TO_DEVICE, 0);
        assertThat(rt.statistics("tbt0").asMap().get("bounce.slots.used")).isPositive();
        long out = page();
        long outDma = m.mapPhys(out, 4096, FROM_DEVICE, 0);
        long granuleStart = dma & ~0xFFFL;
        assertThat(copy("tbt0", granuleStart, outDma, 4096)).isEqualTo(CopyEngine.STATUS_DONE);
        long off = dma & 0xFFF;
        assertThat(Bytes.mismatch(cpu, out + off, 0x200, 3)).isEqualTo(-1);
        for (long i = 0; i < 4096; i += 64) {
            if (i < off || i >= off + 0x200) {
                assertThat(cpu.readByte(out + i)).as("padding byte %d", i).isZero();
            }
        }
        m.unmapPhys(outDma, 4096, FROM_DEVICE, 0);
        m.unmapPhys(dma, 0x200, TO_DEVICE, 0);
        assertThat(rt.statistics("tbt0").asMap()).containsEntry("bounce.slots.used", 0L);
        assertThat(m.maxMappingSize()).isEqualTo(256 * 1024);
    }

    @Test
    void untrustedTwoStepLinksBounceOnlyTheHeadAndTail() {
        DmaMapper m = setUp("strict", "tbt0", Map.of());
        long buf = machine.pageAllocator().allocPages(2); // 16 KiB
        long phys = buf + 0x300;
        long len = 3 * 4096 + 0x500; // head 0xd00, two whole pages, tail 0x800
        Bytes.fill(cpu, buf, 4 * 4096, 42);
        IovaState st = new IovaState();
        assertThat(m.iovaTryAlloc(st, phys, len)).isTrue();
        m.iovaLink(st, phys, 0, len, BIDIRECTIONAL, 0);
        m.iovaSync(st, 0, len);
        assertThat(st.usesSwiotlb()).isTrue();
        assertThat(rt.statistics("tbt0").asMap().get("bounce.mappings")).isEqualTo(2);
        long out = machine.pageAllocator().allocPages(2);
        long outDma = m.mapPhys(out, 4 * 4096, BIDIRECTIONAL, 0);
        assertThat(copy("tbt0", st.addr(), outDma, len)).isEqualTo(CopyEngine.STATUS_DONE);
        assertThat(Bytes.mismatch(cpu, out, len, 42 + 0x300)).isEqualTo(-1);
        // the device writes the whole range; unlinking copies the bounced head and tail back
        Bytes.fill(cpu, out, len, 7);
        assertThat(copy("tbt0", outDma, st.addr(), len)).isEqualTo(CopyEngine.STATUS_DONE);
        m.iovaDestroy(st, len, BIDIRECTIONAL, 0);
        assertThat(Bytes.mismatch(cpu, phys, len, 7)).isEqualTo(-1);
        assertThat(cpu.readByte(buf + 0x2FF)).as("bytes before the range keep theirs").isEqualTo(Bytes.pattern(42, 0x2FF));
        m.unmapPhys(outDma, 4 * 4096, BIDIRECTIONAL, 0);
        assertThat(rt.statistics("tbt0").asMap()).containsEntry("bounce.slots.used", 0L);
    }

    @Test
    void scatterListsGetOneIovaRangeMergedByTheKernelsRules() {
        DmaMapper m = setUp("strict", "dmatest1", Map.of());
        ScatterList sg = new ScatterList(24);
        for (int i = 0; i < 20; i++) {
            long p = page();
            page();
            Bytes.fill(cpu, p, 4096, 200 + i);
            sg.set(i, p, 4096);
        }
        int n = m.mapSg(sg, 20, TO_DEVICE, 0);
        assertThat(n).as("16 pages fill the 64 KiB max segment, 4 more start a second").isEqualTo(2);
        assertThat(sg.dmaLength(0)).isEqualTo(65536);
        assertThat(sg.dmaAddress(1)).isEqualTo(sg.dmaAddress(0) + 65536);
        long out = machine.pageAllocator().allocPages(5);
        long outDma = m.mapPhys(out, 20 * 4096, FROM_DEVICE, 0);
        assertThat(copy("dmatest1", sg.dmaAddress(0), outDma, 20 * 4096)).isEqualTo(CopyEngine.STATUS_DONE);
        for (int i = 0; i < 20; i++) {
            assertThat(Bytes.mismatch(cpu, out + i * 4096L, 4096, 200 + i)).isEqualTo(-1);
        }
        m.unmapSg(sg, 20, TO_DEVICE, 0);
        assertThat(copy("dmatest1", sg.dmaAddress(0), outDma, 8)).isEqualTo(CopyEngine.STATUS_FAULT);
        m.unmapPhys(outDma, 20 * 4096, FROM_DEVICE, 0);
        // an entry that does not start a granule starts a new segment
        ScatterList odd = new ScatterList(3).set(0, page(), 4096).set(1, page() + 0x80, 0x100).set(2, page(), 4096);
        assertThat(m.mapSg(odd, 3, TO_DEVICE, 0)).isEqualTo(3);
        m.unmapSg(odd, 3, TO_DEVICE, 0);
        assertThat(rt.debugReports()).isEmpty();
    }

    @Test
    void coherentMemoryIsMappedThroughTheDomain() {
        DmaMapper m = setUp("strict", "dmatest1", Map.of());
        CoherentBuffer b = m.allocCoherent(8192, 0);
        assertThat(b.dmaAddress()).isNotEqualTo(b.phys());
        b.cpu().set(ValueLayout.JAVA_LONG_UNALIGNED, 0, 0xFEEDL);
        assertThat(copy("dmatest1", b.dmaAddress(), b.dmaAddress() + 4096, 8)).isEqualTo(CopyEngine.STATUS_DONE);
        assertThat(b.cpu().get(ValueLayout.JAVA_LONG_UNALIGNED, 4096)).isEqualTo(0xFEEDL);
        m.freeCoherent(b);
        assertThat(copy("dmatest1", b.dmaAddress(), b.dmaAddress(), 8)).isEqualTo(CopyEngine.STATUS_FAULT);
    }

    @Test
    void theLargestCoherentAllocationWorksInDramThatStartsAtOneMib() {
        DmaMapper m = setUp("strict", "dmatest1", Map.of());
        // 2 MiB + 16 needs an order-10 (4 MiB) block; the default machine's low DRAM starts at
        // 1 MiB, and the block's CPU view once crossed the storage's region-relative chunks
        CoherentBuffer b = m.allocCoherent((2L << 20) + 16, 0);
        assertThat(b.phys() & ((4L << 20) - 1)).as("a naturally aligned order-10 block").isZero();
        b.cpu().set(ValueLayout.JAVA_LONG_UNALIGNED, (2L << 20) + 8, 0xFEEDL);
        assertThat(copy("dmatest1", b.dmaAddress() + (2L << 20) + 8, b.dmaAddress(), 8)).isEqualTo(CopyEngine.STATUS_DONE);
        assertThat(b.cpu().get(ValueLayout.JAVA_LONG_UNALIGNED, 0)).isEqualTo(0xFEEDL);
        m.freeCoherent(b);
    }

    @Test
    void aSixtyFourKiBGranuleFormatWorksEndToEnd() {
        DmaMapper m = setUp("strict", "dmatest1", Map.of("dma4j.iommu.format", "arm-lpae-64k"));
        long src = page();
        long dst = page();
        Bytes.fill(cpu, src, 4096, 5);
        long s = m.mapPhys(src, 4096, TO_DEVICE, 0);
        long d = m.mapPhys(dst, 4096, FROM_DEVICE, 0);
        assertThat(s & 0xFFFF).isEqualTo(src & 0xFFFF);
        assertThat(m.mergeBoundary()).isEqualTo(0xFFFF);
        assertThat(copy("dmatest1", s, d, 4096)).isEqualTo(CopyEngine.STATUS_DONE);
        assertThat(Bytes.mismatch(cpu, dst, 4096, 5)).isEqualTo(-1);
        m.unmapPhys(d, 4096, FROM_DEVICE, 0);
        m.unmapPhys(s, 4096, TO_DEVICE, 0);
    }

    @Test
    void queriesAnswerAsDmaIommuDoes() {
        DmaMapper m = setUp("strict", "dmatest1", Map.of("dma4j.debug", "false"));
        assertThat(m.needUnmap()).isTrue();
        assertThat(m.needSync(0x1000)).isFalse();
        assertThat(m.optMappingSize()).isEqualTo(128 * 1024);
        assertThat(m.maxMappingSize()).isEqualTo(Long.MAX_VALUE);
        assertThat(m.mergeBoundary()).isEqualTo(0xFFF);
        assertThat(m.requiredMask()).isEqualTo(0xFFFF_FFFFL);
        IovaState st = new IovaState();
        assertThat(m.iovaTryAlloc(st, 0, 0)).isFalse();
        assertThat(m.iovaTryAlloc(st, 0, Long.MIN_VALUE | 4096)).as("bit 63 set").isFalse();
    }
}
