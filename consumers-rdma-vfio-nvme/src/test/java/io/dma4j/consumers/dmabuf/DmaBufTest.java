package io.dma4j.consumers.dmabuf;

import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.DmaMappingException;
import io.dma4j.api.MisuseCheck;
import io.dma4j.platform.Machine;
import io.dma4j.platform.description.MachineDescriptionParser;
import io.dma4j.platform.device.CopyEngine;
import io.dma4j.platform.device.FaultReason;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;
import io.dma4j.runtime.testing.Bytes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

import static io.dma4j.api.DmaDirection.BIDIRECTIONAL;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * dma-buf without struct page, seen from the devices: a VFIO-style export of a GPU-like
 * device's memory BAR, imported by copy engines that reach it by bus address (below the same
 * switch), through the host bridge with dma-direct, and through a strict IOMMU; the kernel's
 * attach, map, pin and invalidate rules (drivers/dma-buf/dma-buf.c, dma-buf-mapping.c and
 * vfio_pci_dmabuf.c, v6.19, with the 2026 revoke semantics).
 */
class DmaBufTest {
    private static final String LAB = """
            {"name": "dmabuf-lab", "memory": [{"base": "1MiB", "size": "1023MiB"}], "iommus": [{"name": "mmu0"}],
             "fabric": [{"name": "hb0", "type": "host-bridge", "p2pForwarding": true},
                        {"name": "rp0", "type": "root-port", "parent": "hb0"},
                        {"name": "sw0", "type": "switch-upstream", "parent": "rp0"},
                        {"name": "sw0.dp0", "type": "switch-downstream", "parent": "sw0"},
                        {"name": "sw0.dp1", "type": "switch-downstream", "parent": "sw0"},
                        {"name": "rp1", "type": "root-port", "parent": "hb0"},
                        {"name": "rp2", "type": "root-port", "parent": "hb0"},
                        {"name": "rp3", "type": "root-port", "parent": "hb0"}],
             "devices": [
               {"name": "gpu0", "port": "sw0.dp0", "bars": [{"index": 2, "kind": "memory", "address": "0x4000000000", "size": "64MiB"}]},
               {"name": "ceSwitch", "model": "copy-engine", "port": "sw0.dp1", "bars": [{"index": 0, "kind": "registers", "address": "0xc0000000", "size": "4KiB"}]},
               {"name": "ceDirect", "model": "copy-engine", "port": "rp1", "bars": [{"index": 0, "kind": "registers", "address": "0xc0001000", "size": "4KiB"}]},
               {"name": "ceIommu", "model": "copy-engine", "port": "rp2", "iommu": "mmu0", "bars": [{"index": 0, "kind": "registers", "address": "0xc0002000", "size": "4KiB"}]},
               {"name": "ceIommu2", "model": "copy-engine", "port": "rp3", "iommu": "mmu0", "bars": [{"index": 0, "kind": "registers", "address": "0xc0003000", "size": "4KiB"}]} ] }""";

    private Machine machine;
    private DmaRuntime rt;
    private PhysicalAddressSpace cpu;
    private final AtomicLong now = new AtomicLong();
    /** A clock that moves 1 ms each time it is read: bounded waits end after a known number of reads, without sleeping. */
    private final LongSupplier clock = () -> now.addAndGet(1_000_000);

    @BeforeEach
    void setUp() {
        machine = Machine.create(MachineDescriptionParser.parse(LAB, "dmabuf-lab.json"));
        cpu = machine.addressSpace();
        rt = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(Map.of("dma4j.iommu.mode", "strict"))).build();
    }

    @AfterEach
    void tearDown() {
        rt.close();
        machine.close();
    }

    private VfioBarExporter export(long[] offsets, long[] lengths) {
        return VfioBarExporter.export(machine.device("gpu0"), 2, offsets, lengths, clock, VfioBarExporter.DEFAULT_TIMEOUT_NS);
    }

    private long bar() {
        return machine.device("gpu0").bar(2).cpuAddress();
    }

    /** A dynamic, movable importer whose device is a copy engine: it maps on use and drops its mapping on an invalidate. */
    static final class CopyImporter implements DmaBufImporter {
        final String name;
        final DmaBuf buf;
        final DmaBufAttachment attachment;
        final ImporterMapping mapping;
        boolean ignoreInvalidate;
        int invalidations;

        CopyImporter(String name, DmaBuf buf, DmaMapper device, LongSupplier clock) {
            this.name = name;
            this.buf = buf;
            this.attachment = buf.dynamicAttach(device, this);
            this.mapping = new ImporterMapping(attachment, clock);
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public boolean allowPeer2peer() {
            return true;
        }

        @Override
        public void invalidateMappings(DmaBufAttachment a) {
            invalidations++;
            if (!ignoreInvalidate) {
                mapping.drop();
            }
        }

        /** The mapping to use now, mapping again after a move; {@code null} while the buffer is revoked. */
        DmaVec current() {
            return mapping.current();
        }
    }

    /** The engine copies {@code len} bytes of a DRAM page filled with {@code seed} to {@code dst}; its status. */
    private long deviceWrites(String engine, long dst, int seed, long len) {
        DmaMapper m = rt.mapper(engine);
        long page = machine.pageAllocator().allocPages(io.dma4j.platform.memory.PageAllocator.orderFor(len));
        Bytes.fill(cpu, page, len, seed);
        long src = m.mapPhys(page, len, DmaDirection.TO_DEVICE, 0);
        try {
            return CopyEngine.copy(cpu, machine.device(engine).bar(0), src, dst, len);
        } finally {
            m.unmapPhys(src, len, DmaDirection.TO_DEVICE, 0);
            machine.pageAllocator().freePages(page);
        }
    }

    /** Whether {@code len} bytes at {@code phys} hold the pattern of {@code seed} from position {@code from} on. */
    private boolean holds(long phys, long len, int seed, long from) {
        for (long i = 0; i < len; i++) {
            if (cpu.view(phys + i, 1).get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0) != Bytes.pattern(seed, from + i)) {
                return false;
            }
        }
        return true;
    }

    @Test
    void everyPathReachesTheBarAsItsMapTypeSays() {
        VfioBarExporter exporter = export(new long[] {0x10000, 0x40000}, new long[] {0x2000, 0x1000}); // two ranges
        DmaBuf buf = exporter.buffer();
        assertThat(buf.size()).isEqualTo(0x3000);
        CopyImporter below = new CopyImporter("switch", buf, rt.mapper("ceSwitch"), clock);
        CopyImporter direct = new CopyImporter("direct", buf, rt.mapper("ceDirect"), clock);
        CopyImporter iommu = new CopyImporter("iommu", buf, rt.mapper("ceIommu"), clock);
        DmaVec bus = below.current();
        assertThat(bus.kind()).isEqualTo(DmaVec.Kind.BUS_ADDRESS);
        assertThat(bus.count()).isEqualTo(2);
        assertThat(bus.dmaAddress(0)).as("the BAR's bus address, nothing mapped").isEqualTo(bar() + 0x10000);
        assertThat(direct.current().kind()).as("dma-direct has no IOVA: each range mapped with DMA_ATTR_MMIO").isEqualTo(DmaVec.Kind.PER_RANGE);
        DmaVec io = iommu.current();
        assertThat(io.kind()).isEqualTo(DmaVec.Kind.IOVA);
        assertThat(io.count()).as("one IOVA run for both ranges").isEqualTo(1);
        assertThat(io.dmaLength(0)).isEqualTo(0x3000);
        // every device writes across the whole buffer; the bytes land in the BAR ranges, the second range right after the first
        int seed = 1;
        for (CopyImporter imp : new CopyImporter[] {below, direct, iommu}) {
            String engine = imp.attachment.device().device().name();
            DmaVec v = imp.current();
            if (v.kind() == DmaVec.Kind.IOVA) {
                assertThat(deviceWrites(engine, v.dmaAddress(0), seed, 0x3000)).isEqualTo(CopyEngine.STATUS_DONE);
            } else {
                for (int i = 0; i < v.count(); i++) {
                    assertThat(deviceWrites(engine, v.dmaAddress(i), seed + i, v.dmaLength(i))).as(engine).isEqualTo(CopyEngine.STATUS_DONE);
                    assertThat(Bytes.mismatch(cpu, i == 0 ? bar() + 0x10000 : bar() + 0x40000, v.dmaLength(i), seed + i)).as("%s entry %d", engine, i).isEqualTo(-1);
                }
            }
            seed += 10;
        }
        // the IOVA run: the first 8 KiB went to range 0, the next 4 KiB to range 1 (linked at a running offset)
        assertThat(holds(bar() + 0x10000, 0x2000, 21, 0)).isTrue();
        assertThat(holds(bar() + 0x40000, 0x1000, 21, 0x2000)).isTrue();
        assertThat(machine.faultLog().count()).isZero();
        buf.close();
        assertThat(rt.liveMappings("ceIommu")).as("nothing left mapped after release").isZero();
    }

    @Test
    void aRevokeStopsEveryImporterAndARestoreLetsMovableOnesMapAgain() {
        VfioBarExporter exporter = export(new long[] {0}, new long[] {0x4000});
        DmaBuf buf = exporter.buffer();
        CopyImporter below = new CopyImporter("switch", buf, rt.mapper("ceSwitch"), clock);
        CopyImporter iommu = new CopyImporter("iommu", buf, rt.mapper("ceIommu"), clock);
        IommufdImporter pinned = new IommufdImporter("iommufd", buf, rt.mapper("ceIommu2"));
        long busAddr = below.current().dmaAddress(0);
        long iova = iommu.current().dmaAddress(0);
        long pinnedIova = pinned.dmaAddress();
        assertThat(deviceWrites("ceIommu2", pinnedIova, 3, 4096)).isEqualTo(CopyEngine.STATUS_DONE);
        assertThat(Bytes.mismatch(cpu, bar(), 4096, 3)).isEqualTo(-1);

        assertThat(exporter.setMemoryDecode(false)).as("every importer stopped in time").isEmpty();
        assertThat(exporter.revoked()).isTrue();
        assertThat(below.invalidations).isEqualTo(1);
        assertThat(pinned.revoked()).isTrue();
        // no device reaches the BAR any more: the IOVAs are gone (strict), the bus address meets a BAR that decodes nothing
        long faults = machine.faultLog().count();
        assertThat(deviceWrites("ceIommu", iova, 4, 4096)).isEqualTo(CopyEngine.STATUS_FAULT);
        assertThat(machine.faultLog().last().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(deviceWrites("ceIommu2", pinnedIova, 4, 4096)).isEqualTo(CopyEngine.STATUS_FAULT);
        assertThat(deviceWrites("ceSwitch", busAddr, 4, 4096)).isEqualTo(CopyEngine.STATUS_FAULT);
        assertThat(machine.faultLog().last().reason()).isEqualTo(FaultReason.DECODE_OFF);
        assertThat(machine.faultLog().count()).isEqualTo(faults + 3);
        assertThat(Bytes.mismatch(cpu, bar(), 4096, 3)).as("no byte reached the BAR after the revoke").isEqualTo(-1);
        assertThat(below.current()).as("map after a revoke: -ENODEV, revoked for now").isNull();
        assertThat(pinned.dmaAddress()).isEqualTo(-1);

        exporter.setMemoryDecode(true);
        assertThat(exporter.revoked()).isFalse();
        DmaVec again = iommu.current();
        assertThat(again).as("a movable importer maps again after the restore").isNotNull();
        assertThat(deviceWrites("ceIommu", again.dmaAddress(0), 5, 4096)).isEqualTo(CopyEngine.STATUS_DONE);
        assertThat(Bytes.mismatch(cpu, bar(), 4096, 5)).isEqualTo(-1);
        assertThat(pinned.revoked()).as("a revoked pinned importer may treat the revoke as permanent").isTrue();

        exporter.reset(); // revoke during the reset, restore after it: each an invalidate
        assertThat(iommu.invalidations).as("decode off, on, reset's revoke and restore").isEqualTo(4);
        assertThat(iommu.current()).isNotNull();
        exporter.close(); // revoked for good, every attachment detached
        assertThat(buf.attachments()).isEmpty();
        assertThat(exporter.setMemoryDecode(true)).isEmpty();
        assertThat(exporter.revoked()).as("closed: decode coming back restores nothing").isTrue();
        assertThat(rt.liveMappings("ceIommu")).isZero();
        assertThat(rt.liveMappings("ceIommu2")).isZero();
    }

    @Test
    void anImporterThatIgnoresTheInvalidateIsNamedInTheExportersWarning() {
        VfioBarExporter exporter = export(new long[] {0}, new long[] {0x1000});
        DmaBuf buf = exporter.buffer();
        CopyImporter lazy = new CopyImporter("lazy-importer", buf, rt.mapper("ceIommu"), clock);
        lazy.ignoreInvalidate = true;
        lazy.current();
        CopyImporter fenced = new CopyImporter("fenced-importer", buf, rt.mapper("ceDirect"), clock);
        fenced.current();
        buf.resv().lock();
        buf.resv().addFence(new DmaFence("fenced-importer")); // DMA in flight that never completes
        buf.resv().unlock();
        assertThat(exporter.setMemoryDecode(false)).containsExactly("fenced-importer", "lazy-importer");
        assertThat(buf.warnings()).containsExactly(
                "gpu0.bar2: the fence of fenced-importer did not signal within 1000 ms of an invalidate",
                "gpu0.bar2: importer lazy-importer still holds 1 mapping(s) 1000 ms after an invalidate: it did not honour invalidate_mappings");
    }

    @Test
    void staticAndDynamicAttachmentsCombineAsTheCoreDoes() {
        long[] pages = {machine.pageAllocator().allocPages(0), machine.pageAllocator().allocPages(0)};
        DmaBuf heap = PagesExporter.export("heap", pages, 4096);
        // both static: nothing cached, a mapping per map call
        DmaBufAttachment plain = heap.attach(rt.mapper("ceIommu"));
        assertThat(plain.cachedMapping()).isFalse();
        DmaVec m1 = heap.mapUnlocked(plain, BIDIRECTIONAL);
        assertThat(m1.kind()).isEqualTo(DmaVec.Kind.SCATTER_LIST);
        heap.unmapUnlocked(plain, m1, BIDIRECTIONAL);
        // dynamic importer, static exporter: the core maps once at attach and hands that out
        CopyImporter dyn = new CopyImporter("dyn", heap, rt.mapper("ceIommu2"), clock);
        assertThat(dyn.attachment.cachedMapping()).isTrue();
        assertThat(dyn.attachment.pinned()).as("a static exporter cannot pin").isFalse();
        assertThat(dyn.current()).isSameAs(heap.mapUnlocked(dyn.attachment, BIDIRECTIONAL));
        // static importer, dynamic exporter: the core pins and caches; VFIO refuses a static importer outright (no peer2peer)
        VfioBarExporter vfio = export(new long[] {0}, new long[] {0x1000});
        assertThatThrownBy(() -> vfio.buffer().attach(rt.mapper("ceSwitch")))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("-EOPNOTSUPP: ceSwitch cannot take memory without struct pages (allow_peer2peer is false)");
        assertThat(vfio.buffer().attachments()).isEmpty();
        // a pinned importer that cannot honour a revoke is refused by VFIO
        CopyImporter notRevocable = new CopyImporter("pinner", vfio.buffer(), rt.mapper("ceSwitch"), clock);
        vfio.buffer().resv().lock();
        try {
            assertThatThrownBy(() -> vfio.buffer().pin(notRevocable.attachment)).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessage("-EOPNOTSUPP: pinner wants to pin gpu0.bar2 but cannot honour a revoke");
        } finally {
            vfio.buffer().resv().unlock();
        }
        heap.close();
        assertThat(rt.liveMappings("ceIommu2")).isZero();
    }

    /** A dynamic exporter of DRAM pages (it can pin) that counts pins, maps and unmaps. */
    static final class PinningExporter implements DmaBufExporter {
        final long[] pages;
        int pins;
        int unpins;
        int maps;
        int unmaps;

        PinningExporter(long[] pages) {
            this.pages = pages;
        }

        @Override
        public boolean dynamic() {
            return true;
        }

        @Override
        public void pin(DmaBufAttachment a) {
            pins++;
        }

        @Override
        public void unpin(DmaBufAttachment a) {
            unpins++;
        }

        @Override
        public DmaVec map(DmaBufAttachment a, DmaDirection dir) {
            maps++;
            return PagesExporter.mapPages(a, pages, 4096, dir);
        }

        @Override
        public void unmap(DmaBufAttachment a, DmaVec v, DmaDirection dir) {
            unmaps++;
            PagesExporter.unmapPages(a, v, dir);
        }
    }

    @Test
    void aStaticImporterOfADynamicExporterIsPinnedAndMappedOnceByTheCore() {
        // dma_buf_dynamic_attach: exactly one side dynamic -> the core pins (the exporter is dynamic) and maps once, caching the table
        PinningExporter e = new PinningExporter(new long[] {machine.pageAllocator().allocPages(0), machine.pageAllocator().allocPages(0)});
        DmaBuf buf = new DmaBuf("vram", 8192, e);
        DmaBufAttachment a = buf.attach(rt.mapper("ceIommu"));
        assertThat(a.pinned()).isTrue();
        assertThat(a.cachedMapping()).isTrue();
        assertThat(e.pins).isEqualTo(1);
        assertThat(e.maps).isEqualTo(1);
        DmaVec first = buf.mapUnlocked(a, BIDIRECTIONAL);
        DmaVec second = buf.mapUnlocked(a, BIDIRECTIONAL);
        assertThat(second).as("the cached table, not a new mapping").isSameAs(first);
        assertThat(e.maps).isEqualTo(1);
        buf.unmapUnlocked(a, first, BIDIRECTIONAL);
        assertThat(e.unmaps).as("the cached mapping lives until detach").isZero();
        // both dynamic: no pin, no cache, a mapping per map call
        CopyImporter dyn = new CopyImporter("dyn", buf, rt.mapper("ceIommu2"), clock);
        assertThat(dyn.attachment.pinned()).isFalse();
        assertThat(dyn.attachment.cachedMapping()).isFalse();
        buf.detach(a);
        assertThat(e.unmaps).isEqualTo(1);
        assertThat(e.unpins).isEqualTo(1);
        buf.close();
        assertThat(rt.liveMappings("ceIommu")).isZero();
    }

    @Test
    void callsWithoutTheReservationLockAreReportedAndChangeNothing() {
        VfioBarExporter exporter = export(new long[] {0}, new long[] {0x1000});
        DmaBuf buf = exporter.buffer();
        CopyImporter imp = new CopyImporter("imp", buf, rt.mapper("ceIommu"), clock);
        assertThatThrownBy(() -> buf.map(imp.attachment, BIDIRECTIONAL)).isInstanceOfSatisfying(DmaApiMisuseException.class,
                e -> assertThat(e.check()).isEqualTo(MisuseCheck.DMABUF_RESV_NOT_HELD)).hasMessageContaining("gpu0.bar2: dma_buf_map_attachment by imp without the reservation lock held");
        assertThat(imp.attachment.liveMappings()).isZero();
        assertThatThrownBy(buf::invalidateMappings).isInstanceOf(DmaApiMisuseException.class);
        DmaVec v = imp.current();
        buf.unmapUnlocked(imp.attachment, v, BIDIRECTIONAL);
        assertThatThrownBy(() -> buf.unmapUnlocked(imp.attachment, v, BIDIRECTIONAL)).isInstanceOfSatisfying(DmaApiMisuseException.class,
                e -> assertThat(e.check()).isEqualTo(MisuseCheck.DMABUF_BAD_UNMAP));
    }

    @Test
    void exportedRangesAreCheckedAndLongRangesSplitAt32Bits() {
        assertThatThrownBy(() -> export(new long[] {0x800}, new long[] {0x1000})).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("gpu0: range 0 (offset 0x800, length 0x1000) must be non-empty, page aligned and inside BAR 2 of 0x4000000 bytes");
        assertThatThrownBy(() -> export(new long[] {0x3fff000}, new long[] {0x2000})).hasMessageContaining("inside BAR 2");
        assertThatThrownBy(() -> export(new long[] {0}, new long[] {0})).hasMessageContaining("non-empty");
        assertThatThrownBy(() -> export(new long[] {}, new long[] {})).hasMessage("gpu0: nr_ranges 0 (expected: > 0, one length per offset)");
        // dma_buf_phys_vec_to_sgt: sg lengths are 32-bit; a 4 GiB + 8 KiB range needs two entries
        long[] phys = {0x40_0000_0000L};
        long[] len = {(4L << 30) + 0x2000};
        DmaVec v = PhysVecMapping.map(rt.mapper("ceSwitch"), phys, len, 1, BIDIRECTIONAL);
        assertThat(v.count()).isEqualTo(2);
        assertThat(v.dmaLength(0)).isEqualTo(PhysVecMapping.MAX_ENTRY);
        assertThat(v.dmaAddress(1)).isEqualTo(0x40_0000_0000L + PhysVecMapping.MAX_ENTRY);
        assertThat(v.dmaLength(1)).isEqualTo(0x2001);
    }

    @Test
    void importerIoAgainstARevokeRestoreLoopNeverReachesARevokedBar() throws Exception {
        // a real clock here: the exporter waits (without sleeping) for the importer's fence, which its DMA signals
        VfioBarExporter exporter = VfioBarExporter.export(machine.device("gpu0"), 2, new long[] {0}, new long[] {0x4000}, System::nanoTime,
                VfioBarExporter.DEFAULT_TIMEOUT_NS);
        DmaBuf buf = exporter.buffer();
        CopyImporter imp = new CopyImporter("io", buf, rt.mapper("ceIommu"), System::nanoTime);
        int rounds = Integer.getInteger("dma4j.stress.rounds", 300);
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        AtomicLong writes = new AtomicLong();
        Thread io = Thread.ofPlatform().name("importer-io").start(() -> {
            try {
                int seed = 100;
                while (!stop.get()) {
                    DmaFence fence = new DmaFence("io");
                    DmaVec v;
                    buf.resv().lock();
                    try {
                        v = imp.current();
                        if (v != null) {
                            buf.resv().addFence(fence); // DMA in flight: a revoke waits for it
                        }
                    } finally {
                        buf.resv().unlock();
                    }
                    if (v == null) {
                        continue; // revoked for now
                    }
                    long status = deviceWrites("ceIommu", v.dmaAddress(0), seed++, 4096);
                    fence.signal();
                    if (status != CopyEngine.STATUS_DONE) {
                        throw new AssertionError("a fenced write faulted: " + machine.faultLog().last());
                    }
                    writes.incrementAndGet();
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        try {
            for (int r = 0; r < rounds && failure.get() == null; r++) {
                long target = writes.get() + 1; // let the importer write through its fresh mapping first
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (writes.get() < target && failure.get() == null) {
                    assertThat(System.nanoTime()).as("round %d: the importer made no progress", r).isLessThan(deadline);
                    Thread.onSpinWait();
                }
                assertThat(exporter.setMemoryDecode(false)).as("round %d: the importer stopped in time", r).isEmpty();
                byte[] before = cpu.view(bar(), 4096).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                for (int spin = 0; spin < 2000; spin++) {
                    Thread.onSpinWait(); // the importer keeps trying meanwhile
                }
                assertThat(cpu.view(bar(), 4096).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).as("round %d: nothing reached the revoked BAR", r)
                        .isEqualTo(before);
                exporter.setMemoryDecode(true);
            }
        } finally {
            stop.set(true);
            io.join();
        }
        assertThat(failure.get()).isNull();
        assertThat(writes.get()).as("the importer did I/O between every two revokes").isGreaterThanOrEqualTo(rounds);
        assertThat(buf.warnings()).isEmpty();
        exporter.close();
        assertThat(rt.liveMappings("ceIommu")).isZero();
    }
}
