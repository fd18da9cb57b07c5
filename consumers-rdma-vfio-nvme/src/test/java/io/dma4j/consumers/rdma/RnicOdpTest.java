package io.dma4j.consumers.rdma;

import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.MisuseCheck;
import io.dma4j.consumers.mm.HmmDmaMap;
import io.dma4j.consumers.mm.ProcessMemory;
import io.dma4j.devices.rnic.RnicModel;
import io.dma4j.hw.rnic.Rnic;
import io.dma4j.platform.Machine;
import io.dma4j.platform.description.MachineDescriptionParser;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;
import io.dma4j.spi.ManualClock;
import io.dma4j.spi.Metrics;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * RDMA on-demand paging end to end: the RNIC model faults on pages its translation table
 * lacks, the driver resolves them through umem_odp and the HMM DMA helpers
 * (drivers/infiniband/core/umem_odp.c, drivers/infiniband/hw/mlx5/odp.c, mm/hmm.c, v6.16),
 * and invalidations zap the NIC's entries before unlinking.
 */
class RnicOdpTest {
    private static final long PAGE = ProcessMemory.PAGE_SIZE;
    private Machine machine;
    private DmaRuntime rt;
    private RnicDriver nic;
    private RnicModel model;
    private ProcessMemory mm;
    private final ManualClock clock = new ManualClock();

    private void setUp(Machine m, Map<String, String> config) {
        machine = m;
        rt = DmaRuntime.builder().machine(m).config(RuntimeConfig.of(config)).clock(clock).build();
        nic = new RnicDriver(rt.mapper("rnic0"), m.addressSpace());
        model = (RnicModel) m.device("rnic0").behaviour();
        mm = new ProcessMemory(m.addressSpace(), m.pageAllocator());
    }

    private void setUp(String backend) {
        Map<String, String> cfg = new HashMap<>();
        switch (backend) {
            case "direct" -> cfg.put("dma4j.backend.rnic0", "direct");
            case "strict", "lazy" -> {
                cfg.put("dma4j.backend.rnic0", "iommu");
                cfg.put("dma4j.iommu.mode", backend);
            }
            default -> throw new IllegalArgumentException(backend);
        }
        setUp(Machine.createDefault(), cfg);
    }

    @AfterEach
    void tearDown() {
        if (nic != null) {
            nic.close();
            mm.close();
            assertThat(rt.debugReports()).as("DMA-debug stays silent on correct use").isEmpty();
            rt.close();
            machine.close();
        }
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    private byte[] remote(long off, int len) {
        return model.remoteMemory().asSlice(off, len).toArray(ValueLayout.JAVA_BYTE);
    }

    private void setRemote(long off, byte[] data) {
        MemorySegment.copy(MemorySegment.ofArray(data), 0, model.remoteMemory(), off, data.length);
    }

    @ParameterizedTest
    @ValueSource(strings = {"direct", "strict", "lazy"})
    void rdmaWritesAndReadsMoveTheRightBytesAfterOneFaultEach(String backend) {
        setUp(backend);
        long va = mm.mmap(1 << 20, true, false);
        byte[] data = random(200_000, 1);
        mm.write(va + PAGE + 100, data);
        OdpMr mr = nic.registerOdp(mm, va, 1 << 20, true);
        // dma-direct with DMA-debug on needs unmaps and has no IOVA: the 16 B corner; with an IOVA, pfn words only
        assertThat(mr.bookkeepingBytes()).isEqualTo((backend.equals("direct") ? 16L : 8L) * 256);

        RnicDriver.Completion c = nic.rdmaWrite(mr, va + PAGE + 100, 0, data.length, 7);
        assertThat(c).isEqualTo(new RnicDriver.Completion(7, Rnic.WC_SUCCESS, data.length));
        assertThat(remote(0, data.length)).isEqualTo(data);
        assertThat(model.pageFaults()).as("one event covers the rest of the request").isEqualTo(1);
        assertThat(nic.rdmaWrite(mr, va + PAGE + 100, 0, data.length, 8).ok()).isTrue();
        assertThat(model.pageFaults()).as("the entries stay until an invalidation").isEqualTo(1);

        byte[] in = random(65536, 2);
        setRemote(1 << 20, in);
        assertThat(nic.rdmaRead(mr, va + (512 << 10), 1 << 20, in.length, 9).ok()).isTrue();
        assertThat(mm.read(va + (512 << 10), in.length)).isEqualTo(in);
        for (int p = 0; p < 16; p++) { // each page in the frame the process maps
            long phys = mm.physAt(va + (512 << 10) + p * PAGE);
            assertThat(machine.addressSpace().readByte(phys + 5)).isEqualTo(in[(int) (p * PAGE + 5)]);
        }
        assertThat(model.pageFaults()).isEqualTo(2);
        int idx = 128;
        long entry = model.translationEntry(mr.lkey(), idx);
        assertThat(entry & (Rnic.MTT_READ | Rnic.MTT_WRITE)).isEqualTo(Rnic.MTT_READ | Rnic.MTT_WRITE);
        if (!backend.equals("direct")) {
            assertThat(mr.umem().map().usesIova()).isTrue();
            assertThat(entry & Rnic.MTT_ADDR_MASK).as("the IOVA is the reservation's base + index × 4 KiB")
                    .isEqualTo(mr.umem().map().iovaState().addr() + idx * PAGE);
            assertThat(rt.statistics("rnic0").get(Metrics.IOVA_ALLOCS)).as("one IOVA allocation per MR").isEqualTo(1);
        }
        assertThat(mr.umem().mappedPages()).isEqualTo(49 + 16);
        mr.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"direct", "strict", "lazy"})
    void aMigratedPageFaultsAgainAndTheNewFrameIsUsed(String backend) {
        setUp(backend);
        long va = mm.mmap(64 * PAGE, true, false);
        mm.write(va, random(4096, 3));
        OdpMr mr = nic.registerOdp(mm, va, 64 * PAGE, true);
        assertThat(nic.rdmaWrite(mr, va, 0, 4096, 1).ok()).isTrue();
        long oldDma = model.translationEntry(mr.lkey(), 0) & Rnic.MTT_ADDR_MASK;
        long oldFrame = mm.physAt(va);
        long newFrame = mm.migrate(va);
        assertThat(newFrame).isNotEqualTo(oldFrame);
        assertThat(model.translationEntry(mr.lkey(), 0)).as("zapped on the NIC").isZero();
        byte[] after = random(4096, 4);
        mm.write(va, after);
        assertThat(nic.rdmaWrite(mr, va, 8192, 4096, 2).ok()).isTrue();
        assertThat(model.pageFaults()).isEqualTo(2);
        assertThat(remote(8192, 4096)).as("read from the new frame").isEqualTo(after);
        if (backend.equals("strict")) {
            long faults = machine.device("rnic0").port().faultCount();
            long newDma = model.translationEntry(mr.lkey(), 0) & Rnic.MTT_ADDR_MASK;
            assertThat(newDma).as("the same IOVA, relinked").isEqualTo(oldDma);
            // a stale address of an unlinked page faults: use one that was unlinked and not relinked
            mm.discard(va, PAGE);
            try (Arena a = Arena.ofConfined()) {
                assertThat(machine.device("rnic0").port().read(oldDma, a.allocate(4096), 0, 4096)).isZero();
            }
            assertThat(machine.device("rnic0").port().faultCount()).as("a logged fault").isEqualTo(faults + 1);
        }
        mr.close();
    }

    /**
     * Lazy IOMMU mode: {@code dma_iova_unlink} syncs the IOTLB at once ({@code __iommu_dma_iova_unlink},
     * drivers/iommu/dma-iommu.c v6.16: the gather is queued only when the IOVA is freed too), so
     * an ODP invalidation on the two-step path leaves no stale entry; the classic
     * {@code dma_unmap_page} path frees the IOVA through the flush queue and the old frame stays
     * reachable, counted as an exposure, until the flush timeout.
     */
    @ParameterizedTest
    @ValueSource(strings = {"TWO_STEP", "CLASSIC"})
    void lazyModeExposesAnInvalidatedPageOnlyOnTheClassicPath(String design) {
        setUp("lazy");
        long va = mm.mmap(4 * PAGE, true, false);
        mm.write(va, random(4096, 5));
        OdpMr mr = nic.registerOdp(mm, va, 4 * PAGE, true, HmmDmaMap.Design.valueOf(design), System::nanoTime);
        assertThat(nic.rdmaWrite(mr, va, 0, 4096, 1).ok()).isTrue();
        long dma = model.translationEntry(mr.lkey(), 0) & Rnic.MTT_ADDR_MASK;
        mm.discard(va, PAGE);
        assertThat(model.translationEntry(mr.lkey(), 0)).isZero();
        try (Arena a = Arena.ofConfined()) {
            // what a device that ignored the zap would reach
            long got = machine.device("rnic0").port().read(dma, a.allocate(4096), 0, 4096);
            if (design.equals("TWO_STEP")) {
                assertThat(got).isZero();
                assertThat(rt.statistics("rnic0").get(Metrics.EXPOSURES)).isZero();
            } else {
                assertThat(got).isEqualTo(4096);
                assertThat(rt.statistics("rnic0").get(Metrics.EXPOSURES)).isEqualTo(1);
                clock.advance(1_000_000_000L); // the flush timeout passes
                assertThat(machine.device("rnic0").port().read(dma, a.allocate(4096), 0, 4096)).isZero();
            }
        }
        mr.close();
    }

    @Test
    void writesByTheDeviceDirtyThePagesWhenTheyAreUnmapped() {
        setUp("strict");
        long va = mm.mmap(8 * PAGE, true, false);
        OdpMr mr = nic.registerOdp(mm, va, 8 * PAGE, true);
        setRemote(0, random(8192, 6));
        assertThat(nic.rdmaRead(mr, va, 0, 8192, 1).ok()).isTrue();
        assertThat(mm.isDirty(va)).as("a device write is not seen by the mm until ODP unmaps").isFalse();
        mm.mprotect(va, 8 * PAGE, false);
        assertThat(mm.isDirty(va)).isTrue();
        assertThat(mm.isDirty(va + PAGE)).isTrue();
        assertThat(mr.umem().mappedPages()).isZero();
        // read-only now: a device write faults, the fault cannot get write access, the request fails
        RnicDriver.Completion c = nic.rdmaRead(mr, va, 0, 4096, 2);
        assertThat(c.status()).isEqualTo(Rnic.WC_LOC_ACCESS_ERR);
        assertThat(nic.faultErrors()).isEqualTo(1);
        assertThat(nic.rdmaWrite(mr, va, 0, 4096, 3).ok()).as("reads still work").isTrue();
        mr.close();
    }

    @Test
    void anAccessOutsideTheRegionCompletesInErrorWithoutAFault() {
        setUp("strict");
        long va = mm.mmap(4 * PAGE, true, false);
        OdpMr mr = nic.registerOdp(mm, va, 4 * PAGE, false);
        assertThat(nic.rdmaWrite(mr, va + 3 * PAGE, 0, 8192, 1).status()).isEqualTo(Rnic.WC_LOC_PROT_ERR);
        assertThat(nic.rdmaRead(mr, va, 0, 4096, 2).status()).as("the key is read-only").isEqualTo(Rnic.WC_LOC_PROT_ERR);
        assertThat(model.pageFaults()).isZero();
        mr.close();
    }

    @Test
    void registrationChecksTheRangeAsUmemOdpGetDoes() {
        setUp("strict");
        assertThatThrownBy(() -> nic.registerOdp(mm, -4096L, 8192, true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("ib_umem_odp_get: 0xfffffffffffff000+0x2000 overflows when aligned to pages (-EOVERFLOW)");
        assertThatThrownBy(() -> nic.registerOdp(mm, Long.MAX_VALUE - 100, 50, true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageEndingWith("(-EOVERFLOW)");
        assertThatThrownBy(() -> nic.registerOdp(mm, 4096, 0, true)).hasMessage("ib_umem_odp_get: length 0 (expected: > 0) (-EINVAL)");
        long va = mm.mmap(4 * PAGE, true, false);
        OdpMr mr = nic.registerOdp(mm, va + 100, 2 * PAGE, true);
        assertThat(mr.start()).isEqualTo(va);
        assertThat(mr.length()).as("rounded out to pages").isEqualTo(3 * PAGE);
        assertThatThrownBy(() -> mr.umem().mapDmaAndLock(va + 3 * PAGE, 1, false, true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageEndingWith("(-EFAULT)");
        assertThat(mm.notifierCount()).isEqualTo(1);
        mr.close();
        assertThat(mm.notifierCount()).as("release removes the notifier").isZero();
    }

    @Test
    void aDeviceThatMayBounceIsRefused() {
        Map<String, String> cfg = new HashMap<>();
        cfg.put("dma4j.backend.rnic0", "direct");
        setUp(Machine.create(MachineDescriptionParser.parse("""
                {"memory": [{"base": "1MiB", "size": "1023MiB"}, {"base": "4GiB", "size": "1GiB"}],
                 "fabric": [{"name": "hb", "type": "host-bridge"}, {"name": "rp", "type": "root-port", "parent": "hb"}],
                 "devices": [{"name": "rnic0", "model": "rnic", "port": "rp", "dmaBits": 32,
                              "bars": [{"index": 0, "kind": "registers", "address": "0xc0100000", "size": "64KiB"}]}]}""", "bounce.json")), cfg);
        long va = mm.mmap(4 * PAGE, true, false);
        assertThatThrownBy(() -> nic.registerOdp(mm, va, 4 * PAGE, true)).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("rnic0 may bounce (dma_addressing_limited)").hasMessageEndingWith("(-EOPNOTSUPP)");
        assertThat(mm.notifierCount()).as("nothing left behind").isZero();
    }

    @Test
    void bookkeepingIsSixteenBytesPerPageOnlyWithoutIovaWhenUnmapsAreNeeded() {
        setUp("direct"); // DMA-debug on: dma-direct needs unmaps
        long va = mm.mmap(16 * PAGE, true, false);
        OdpMr debugDirect = nic.registerOdp(mm, va, 16 * PAGE, true);
        assertThat(debugDirect.umem().map().hasDmaList()).isTrue();
        assertThat(debugDirect.bookkeepingBytes()).isEqualTo(16L * 16);
        debugDirect.close();
        tearDown();
        nic = null;
        Map<String, String> cfg = new HashMap<>(Map.of("dma4j.backend.rnic0", "direct", RuntimeConfig.DEBUG, "false"));
        setUp(Machine.createDefault(), cfg);
        va = mm.mmap(16 * PAGE, true, false);
        OdpMr plain = nic.registerOdp(mm, va, 16 * PAGE, true);
        assertThat(plain.umem().map().hasDmaList()).isFalse();
        assertThat(plain.bookkeepingBytes()).isEqualTo(8L * 16);
        mm.write(va, random(8192, 7));
        assertThat(nic.rdmaWrite(plain, va, 0, 8192, 1).ok()).isTrue();
        assertThat(remote(0, 8192)).isEqualTo(mm.read(va, 8192));
        plain.close();
        OdpMr classic = nic.registerOdp(mm, va, 16 * PAGE, true, HmmDmaMap.Design.CLASSIC, System::nanoTime);
        assertThat(classic.bookkeepingBytes()).as("the pre-6.16 design stores every address").isEqualTo(16L * 16);
        classic.close();
    }

    @Test
    void classicDesignAllocatesIovaPerPageAndMovesTheSameBytes() {
        setUp("strict");
        long va = mm.mmap(32 * PAGE, true, false);
        byte[] data = random(32 * 4096, 8);
        mm.write(va, data);
        OdpMr mr = nic.registerOdp(mm, va, 32 * PAGE, true, HmmDmaMap.Design.CLASSIC, System::nanoTime);
        assertThat(mr.umem().map().usesIova()).isFalse();
        assertThat(nic.rdmaWrite(mr, va, 0, data.length, 1).ok()).isTrue();
        assertThat(remote(0, data.length)).isEqualTo(data);
        assertThat(rt.statistics("rnic0").get(Metrics.IOVA_ALLOCS)).isZero();
        mr.close();
    }

    @Test
    void dmaDebugFlagsALinkBeyondTheReservation() {
        setUp("strict");
        long va = mm.mmap(4 * PAGE, true, false);
        OdpMr mr = nic.registerOdp(mm, va, 4 * PAGE, true);
        long phys = machine.pageAllocator().allocPages(0);
        assertThatThrownBy(() -> nic.mapper().iovaLink(mr.umem().map().iovaState(), phys, 4 * PAGE, PAGE, DmaDirection.BIDIRECTIONAL, 0))
                .isInstanceOfSatisfying(DmaApiMisuseException.class, e -> assertThat(e.check()).isEqualTo(MisuseCheck.IOVA_OUT_OF_RANGE));
        machine.pageAllocator().freePages(phys);
        mr.close(); // in throw mode the misuse is the exception, and the refused link left nothing behind
    }

    @Test
    void faultsThatRaceInvalidationsRetryAndLoseNoWrite() throws Exception {
        setUp("strict");
        int pages = 64;
        long va = mm.mmap(pages * PAGE, true, false);
        OdpMr mr = nic.registerOdp(mm, va, pages * PAGE, true);
        byte[] shadow = new byte[(int) (pages * PAGE)];
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread cpu = new Thread(() -> {
            SplittableRandom r = new SplittableRandom(11);
            try {
                while (!stop.get()) {
                    long p = r.nextInt(pages);
                    switch (r.nextInt(3)) {
                        case 0 -> mm.migrate(va + p * PAGE);
                        case 1 -> mm.writeProtect(va + p * PAGE, PAGE);
                        default -> mm.mprotect(va, pages * PAGE, true); // a protection change over the whole range
                    }
                }
            } catch (Throwable t) {
                failed.set(t);
            }
        }, "invalidator");
        cpu.start();
        SplittableRandom r = new SplittableRandom(12);
        try {
            for (int i = 0; i < 400; i++) {
                int page = r.nextInt(pages - 4);
                int len = (1 + r.nextInt(4)) * 4096 - r.nextInt(100);
                byte[] in = random(len, 100 + i);
                setRemote(0, in);
                assertThat(nic.rdmaRead(mr, va + page * PAGE, 0, len, i).ok()).isTrue();
                System.arraycopy(in, 0, shadow, (int) (page * PAGE), len);
                int check = r.nextInt(pages - 4);
                assertThat(nic.rdmaWrite(mr, va + check * PAGE, 4L << 20, 16384, i).ok()).isTrue();
                assertThat(remote(4L << 20, 16384)).isEqualTo(Arrays.copyOfRange(shadow, (int) (check * PAGE), (int) (check * PAGE) + 16384));
            }
        } finally {
            stop.set(true);
            cpu.join();
        }
        assertThat(failed.get()).isNull();
        assertThat(mm.read(va, shadow.length)).as("the process sees every write").isEqualTo(shadow);
        assertThat(mr.umem().invalidations()).isPositive();
        assertThat(machine.device("rnic0").port().faultCount()).as("the device never used an unlinked page").isZero();
        mr.close();
    }

    /**
     * A page of peer memory (nvme0's CMB) in the mirrored range: beside the NIC on one switch
     * it is used by bus address (nothing linked: {@code hmm_dma_map_pfn}'s
     * {@code PCI_P2PDMA_MAP_BUS_ADDR} case), across a forwarding host bridge it is linked with
     * the MMIO attribute ({@code PCI_P2PDMA_MAP_THRU_HOST_BRIDGE}); mm/hmm.c v6.16.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void peerMemoryInTheRangeIsReachedByEitherMapType(boolean sameSwitch) {
        Map<String, String> cfg = new HashMap<>(Map.of("dma4j.backend.rnic0", "iommu", "dma4j.iommu.mode", "strict"));
        setUp(sameSwitch ? Machine.createDefault() : Machine.create(MachineDescriptionParser.parse("""
                {"memory": [{"base": "1MiB", "size": "1023MiB"}, {"base": "4GiB", "size": "1GiB"}],
                 "iommus": [{"name": "mmu"}],
                 "fabric": [{"name": "hb", "type": "host-bridge", "p2pForwarding": true},
                            {"name": "rp0", "type": "root-port", "parent": "hb"}, {"name": "rp1", "type": "root-port", "parent": "hb"}],
                 "devices": [{"name": "nvme0", "model": "nvme", "port": "rp0", "dmaBits": 64, "iommu": "mmu",
                              "bars": [{"index": 0, "kind": "registers", "address": "0xc0000000", "size": "16KiB"},
                                       {"index": 2, "kind": "memory", "address": "0x4000000000", "size": "64MiB"}]},
                             {"name": "rnic0", "model": "rnic", "port": "rp1", "dmaBits": 64, "iommu": "mmu",
                              "bars": [{"index": 0, "kind": "registers", "address": "0xc0100000", "size": "64KiB"}]}]}""", "hb.json")), cfg);
        var nvme = machine.device("nvme0");
        rt.peerMemory().publish(nvme, 2, 0, 0);
        long cmb = rt.peerMemory().alloc(nvme, 8 * PAGE);
        byte[] data = random(8 * 4096, 9);
        for (int i = 0; i < data.length; i++) {
            machine.addressSpace().writeByte(cmb + i, data[i]);
        }
        long va = mm.mmapPeer(cmb, 8 * PAGE);
        OdpMr mr = nic.registerOdp(mm, va, 8 * PAGE, true);
        assertThat(nic.rdmaWrite(mr, va, 0, data.length, 1).ok()).isTrue();
        assertThat(remote(0, data.length)).isEqualTo(data);
        long entry = model.translationEntry(mr.lkey(), 3) & Rnic.MTT_ADDR_MASK;
        long pfn = mr.umem().map().pfnList()[3];
        if (sameSwitch) {
            assertThat(entry).as("the bus address, no IOVA").isEqualTo(nvme.bar(2).busAddress() + (cmb - nvme.bar(2).cpuAddress()) + 3 * PAGE);
            assertThat(pfn & io.dma4j.consumers.mm.Hmm.P2PDMA_BUS).isNotZero();
        } else {
            assertThat(entry).as("linked in the IOVA reservation").isEqualTo(mr.umem().map().iovaState().addr() + 3 * PAGE);
            assertThat(pfn & io.dma4j.consumers.mm.Hmm.P2PDMA).isNotZero();
        }
        byte[] in = random(4096, 10);
        setRemote(0, in);
        assertThat(nic.rdmaRead(mr, va + PAGE, 0, 4096, 2).ok()).isTrue();
        for (int i = 0; i < 4096; i += 512) {
            assertThat(machine.addressSpace().readByte(cmb + PAGE + i)).isEqualTo(in[i]);
        }
        mr.close();
        rt.peerMemory().free(nvme, cmb, 8 * PAGE);
    }

    /** Implicit ODP: one key for the address space, a child region per 1 GiB window on first fault (mlx5 odp.c, v6.16). */
    @Test
    void implicitOdpCreatesAChildPerWindowOnFirstFault() {
        setUp("strict");
        long va = mm.mmap(3L << 30, true, false); // spans at least two windows
        long window = Rnic.IMPLICIT_WINDOW;
        long a = (va / window + 1) * window - 2 * PAGE; // two pages before the first window boundary inside the mapping
        byte[] data = random(16384, 13);
        mm.write(a, data);
        OdpMr mr = nic.registerImplicitOdp(mm, true, HmmDmaMap.Design.TWO_STEP, System::nanoTime);
        assertThat(mr.isImplicit()).isTrue();
        assertThat(mr.children()).isEmpty();
        assertThat(nic.rdmaWrite(mr, a, 0, data.length, 1).ok()).isTrue();
        assertThat(remote(0, data.length)).isEqualTo(data);
        assertThat(mr.children()).as("one child per window the request touched").containsOnlyKeys(a / window, a / window + 1);
        assertThat(model.pageFaults()).as("one event: resolving it creates both children").isEqualTo(1);
        int child = model.implicitChild(mr.lkey(), a / window);
        assertThat(child).isEqualTo(mr.children().get(a / window).lkey());
        assertThat(mr.bookkeepingBytes()).as("8 B per page of each child").isEqualTo(2 * 8L * (window / PAGE));
        assertThat(rt.statistics("rnic0").get(Metrics.IOVA_ALLOCS)).as("one IOVA allocation per child").isEqualTo(2);
        mm.migrate(a);
        assertThat(model.translationEntry(mr.children().get(a / window).lkey(), (int) ((a % window) / PAGE))).as("zapped in the child").isZero();
        assertThat(nic.rdmaWrite(mr, a, 0, 4096, 2).ok()).isTrue();
        assertThat(model.pageFaults()).isEqualTo(2);
        assertThat(mm.notifierCount()).isEqualTo(2);
        mr.close();
        assertThat(mm.notifierCount()).isZero();
    }
}
