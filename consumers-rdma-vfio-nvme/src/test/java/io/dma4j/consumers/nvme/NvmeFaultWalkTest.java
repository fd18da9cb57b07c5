package io.dma4j.consumers.nvme;

import io.dma4j.api.DmaMappingException;
import io.dma4j.hw.nvme.Nvme;
import io.dma4j.platform.Machine;
import io.dma4j.platform.description.MachineDescriptionParser;
import io.dma4j.platform.fault.FaultInjector;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;
import io.dma4j.runtime.testing.Bytes;
import io.dma4j.runtime.testing.Leaks;
import io.dma4j.spi.ManualClock;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * The fault-injection walk (the reliability issue): for the NVMe flows — bring-up, and a
 * write then read of a two-segment request — on every backend (direct, IOMMU strict and
 * lazy, swiotlb for a 32-bit controller, IOMMU with bouncing for an untrusted one) and both
 * mapping APIs, fail injectable call N of the flow for N = 1, 2, ... until the flow completes
 * without reaching the fault (the kernel's fail-nth). After every run: a clean error (a
 * mapping exception, a device status, or a lost completion answered by a controller reset)
 * or success with every byte back; no live mapping, the IOVA granules in use, bounce slots,
 * page-table pages and allocated pages back to their baseline; the source bytes untouched;
 * DMA-debug silent.
 */
class NvmeFaultWalkTest {
    private static final AtomicLong CASES = new AtomicLong();
    private Machine machine;
    private DmaRuntime rt;
    private final ManualClock clock = new ManualClock();
    private long tablesBaseline = -1;

    static Stream<Arguments> setups() {
        return Stream.of("direct", "strict", "lazy", "bounce32", "untrusted")
                .flatMap(b -> Stream.of(Arguments.of(b, true), Arguments.of(b, false)));
    }

    private static Machine lab(String device) {
        return Machine.create(MachineDescriptionParser.parse("""
                {"memory": [{"base": "1MiB", "size": "1023MiB"}, {"base": "4GiB", "size": "1GiB"}],
                 "iommus": [{"name": "mmu"}],
                 "fabric": [{"name": "hb", "type": "host-bridge"}, {"name": "rp", "type": "root-port", "parent": "hb"}],
                 "devices": [ DEVICE ]}""".replace("DEVICE", device), "lab.json"));
    }

    /** The device under test, with the machine and runtime set up for the backend. */
    private String setUp(String backend) {
        Map<String, String> cfg = new LinkedHashMap<>();
        String dev = "nvme0";
        switch (backend) {
            case "direct" -> {
                machine = Machine.createDefault();
                cfg.put("dma4j.backend.nvme0", "direct");
            }
            case "strict", "lazy" -> {
                machine = Machine.createDefault();
                cfg.put("dma4j.backend.nvme0", "iommu");
                cfg.put("dma4j.iommu.mode", backend);
            }
            case "bounce32" -> {
                machine = lab("""
                        {"name": "nvme32", "model": "nvme", "port": "rp", "dmaBits": 32, "minAlignMask": "0xfff",
                         "bars": [{"index": 0, "kind": "registers", "address": "0xc0000000", "size": "16KiB"}]}""");
                dev = "nvme32";
            }
            case "untrusted" -> {
                machine = lab("""
                        {"name": "ext", "model": "nvme", "port": "rp", "untrusted": true, "iommu": "mmu", "minAlignMask": "0xfff",
                         "bars": [{"index": 0, "kind": "registers", "address": "0xc0000000", "size": "16KiB"}]}""");
                dev = "ext";
            }
            default -> throw new IllegalArgumentException(backend);
        }
        rt = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(cfg)).clock(clock).build();
        rt.mapper(dev); // the backend (and a bounce pool) exist before the walk
        return dev;
    }

    @AfterEach
    void tearDown() {
        machine.faultInjector().reset();
        rt.close();
        machine.close();
    }

    @AfterAll
    static void report() {
        System.out.println("NvmeFaultWalkTest: " + CASES.get() + " (flow, backend, api, N) cases");
    }

    /** What must come back to where it was after every run. */
    private Map<String, Long> figures(String dev) {
        clock.advance(TimeUnit.MILLISECONDS.toNanos(1000)); // any flush-queue timeout has passed
        Map<String, Long> f = Leaks.figures(rt, machine, dev);
        // A map that fails for want of a deeper table page keeps the intermediate tables it
        // already installed, as the kernel does (VT-d's pfn_to_dma_pte, io-pgtable-arm's
        // __arm_lpae_map leave them for the next map of that range): page-table pages may
        // stay above the baseline by empty tables, never by more than a walk's depth.
        long tables = rt.statistics(dev).asMap().getOrDefault("backend.pagetable.pages", 0L);
        f.put("page-table pages above a walk's depth", tablesBaseline < 0 || tables <= tablesBaseline + 3 ? 0L : tables - tablesBaseline);
        if (tablesBaseline < 0) {
            tablesBaseline = tables;
        }
        return f;
    }

    @ParameterizedTest(name = "{0}, two-step {1}")
    @MethodSource("setups")
    void bringUpPassesTheWalk(String backend, boolean twoStep) {
        String dev = setUp(backend);
        FaultInjector fi = machine.faultInjector();
        Map<String, Long> baseline = figures(dev);
        for (int n = 1; ; n++) {
            assertThat(n).as("the walk ends").isLessThan(10_000);
            fi.setFailNth(n);
            NvmeDriver d = null;
            RuntimeException error = null;
            try {
                d = new NvmeDriver(rt.mapper(dev), machine.addressSpace());
                d.setTwoStep(twoStep);
            } catch (DmaMappingException | IllegalStateException e) {
                error = e;
            }
            boolean reached = fi.failNth() == 0;
            fi.setFailNth(0);
            CASES.incrementAndGet();
            if (d != null) {
                d.close();
            }
            assertThat(figures(dev)).as("bring-up, N = %d (%s)", n, error).isEqualTo(baseline);
            if (!reached) {
                assertThat(error).as("the fault was not reached: bring-up must succeed").isNull();
                assertThat(n).as("bring-up has injectable calls").isGreaterThan(5);
                return;
            }
        }
    }

    @ParameterizedTest(name = "{0}, two-step {1}")
    @MethodSource("setups")
    void writeAndReadPassTheWalk(String backend, boolean twoStep) {
        String dev = setUp(backend);
        FaultInjector fi = machine.faultInjector();
        PhysicalAddressSpace cpu = machine.addressSpace();
        boolean high = backend.equals("bounce32");
        long lo = high ? 4L << 30 : 0;
        long[] src = {machine.pageAllocator().allocPages(1, lo, Long.MAX_VALUE) + 0x200, machine.pageAllocator().allocPages(1, lo, Long.MAX_VALUE)};
        long[] dst = {machine.pageAllocator().allocPages(1, lo, Long.MAX_VALUE) + 0x200, machine.pageAllocator().allocPages(1, lo, Long.MAX_VALUE)};
        long[] len = {0x2000 - 0x200, 0x2000}; // an unaligned head (bounced when untrusted), then a whole segment
        Bytes.fill(cpu, src[0], len[0], 11);
        Bytes.fill(cpu, src[1], len[1], 12);
        NvmeDriver d = new NvmeDriver(rt.mapper(dev), cpu);
        d.setTwoStep(twoStep);
        long lba = 64;
        assertThat(d.write(lba, src, len, 2)).isEqualTo(Nvme.SC_SUCCESS); // warm-up: descriptor pages, caches
        assertThat(d.read(lba, dst, len, 2)).isEqualTo(Nvme.SC_SUCCESS);
        Map<String, Long> baseline = figures(dev);
        int errors = 0;
        for (int n = 1; ; n++) {
            assertThat(n).as("the walk ends").isLessThan(10_000);
            Bytes.fill(cpu, dst[0], len[0], 0);
            Bytes.fill(cpu, dst[1], len[1], 0);
            fi.setFailNth(n);
            int ws = -1;
            int rs = -1;
            RuntimeException error = null;
            try {
                ws = d.write(lba + n, src, len, 2);
                if (ws == Nvme.SC_SUCCESS) {
                    rs = d.read(lba + n, dst, len, 2);
                }
            } catch (DmaMappingException | IllegalStateException e) {
                error = e;
            } catch (RuntimeException e) {
                fail("N = %d: not a clean error: %s", n, e);
            }
            boolean reached = fi.failNth() == 0;
            fi.setFailNth(0);
            CASES.incrementAndGet();
            String what = String.format("write/read, N = %d (status %d/%d, %s)", n, ws, rs, error);
            assertThat(Bytes.mismatch(cpu, src[0], len[0], 11)).as("%s: source untouched", what).isEqualTo(-1);
            assertThat(Bytes.mismatch(cpu, src[1], len[1], 12)).as("%s: source untouched", what).isEqualTo(-1);
            if (ws == Nvme.SC_SUCCESS && rs == Nvme.SC_SUCCESS) {
                assertThat(Bytes.mismatch(cpu, dst[0], len[0], 11)).as("%s: bytes back", what).isEqualTo(-1);
                assertThat(Bytes.mismatch(cpu, dst[1], len[1], 12)).as("%s: bytes back", what).isEqualTo(-1);
            } else {
                errors++;
            }
            assertThat(figures(dev)).as(what).isEqualTo(baseline);
            if (!reached) {
                assertThat(error).as("%s: the fault was not reached, so the flow must succeed", what).isNull();
                assertThat(ws).isZero();
                assertThat(rs).isZero();
                assertThat(errors).as("some injected faults surfaced as errors").isPositive();
                break;
            }
        }
        assertThat(d.resets()).as("a completion the controller could not post was among the faults, and the controller was reset").isPositive();
        assertThat(d.write(lba, src, len, 2)).as("the driver still works after the walk").isEqualTo(Nvme.SC_SUCCESS);
        d.close();
    }
}
