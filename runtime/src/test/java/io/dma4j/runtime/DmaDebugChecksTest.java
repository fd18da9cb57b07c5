package io.dma4j.runtime;

import io.dma4j.api.MisuseCheck;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.IovaState;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.Machine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.dma4j.spi.BackendContext;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.DmaRole;
import io.dma4j.spi.IovaOps;
import io.dma4j.spi.MappingBackend;

import java.lang.foreign.Arena;
import java.util.Map;
import java.util.Set;

import static io.dma4j.api.DmaDirection.BIDIRECTIONAL;
import static io.dma4j.api.DmaDirection.FROM_DEVICE;
import static io.dma4j.api.DmaDirection.TO_DEVICE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

/** Each DMA-debug check: one test that triggers it, and correct use that stays silent. */
class DmaDebugChecksTest {
    private Machine machine;
    private DmaRuntime rt;
    private DmaMapper m;
    private long page;

    @BeforeEach
    void setUp() {
        machine = Machine.createDefault();
        rt = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(Map.of())).build();
        m = rt.mapper("dmatest0");
        page = machine.pageAllocator().allocPages(2);
    }

    @AfterEach
    void tearDown() {
        rt.close();
        machine.close();
    }

    private void expect(MisuseCheck check, Runnable call) {
        int before = rt.debugReports().size();
        assertThatThrownBy(call::run).isInstanceOfSatisfying(DmaApiMisuseException.class, e -> {
            assertThat(e.check()).isEqualTo(check);
            assertThat(e.getMessage()).startsWith("dmatest0: DMA-API: " + check.text());
        });
        assertThat(rt.debugReports()).hasSize(before + 1);
        assertThat(rt.debugReports().getLast().check()).isEqualTo(check);
    }

    @Test
    void correctUseOfEveryCallStaysSilent() {
        long a = m.mapPhys(page, 4096, BIDIRECTIONAL, 0);
        m.syncForCpu(a + 128, 256, BIDIRECTIONAL);
        m.syncForDevice(a, 4096, BIDIRECTIONAL);
        m.unmapPhys(a, 4096, BIDIRECTIONAL, 0);
        long t = m.mapPhys(page, 4096, TO_DEVICE, 0);
        m.syncForCpu(t, 4096, TO_DEVICE);       // allowed: the CPU may look at a TO_DEVICE buffer
        m.syncForDevice(t, 4096, TO_DEVICE);
        m.unmapPhys(t, 4096, TO_DEVICE, 0);
        ScatterList sg = new ScatterList(2).set(0, page, 4096).set(1, page + 8192, 4096);
        int n = m.mapSg(sg, 2, FROM_DEVICE, 0);
        m.syncSgForCpu(sg, 2, FROM_DEVICE);
        m.syncSgForDevice(sg, 2, FROM_DEVICE);
        m.unmapSg(sg, 2, FROM_DEVICE, 0);
        assertThat(n).isEqualTo(2);
        CoherentBuffer c = m.allocCoherent(4096, 0);
        m.freeCoherent(c);
        long cmb = machine.device("nvme0").bar(2).cpuAddress();
        long r = m.mapPhys(cmb, 4096, FROM_DEVICE, DmaAttrs.MMIO);
        m.unmapPhys(r, 4096, FROM_DEVICE, DmaAttrs.MMIO);
        // two mappings sharing a cacheline are fine when one is TO_DEVICE or SKIP_CPU_SYNC
        long x = m.mapPhys(page, 64, FROM_DEVICE, 0);
        long y = m.mapPhys(page, 64, TO_DEVICE, 0);
        long z = m.mapPhys(page + 32, 32, FROM_DEVICE, DmaAttrs.SKIP_CPU_SYNC);
        m.unmapPhys(z, 32, FROM_DEVICE, DmaAttrs.SKIP_CPU_SYNC);
        m.unmapPhys(y, 64, TO_DEVICE, 0);
        m.unmapPhys(x, 64, FROM_DEVICE, 0);
        rt.release("dmatest0");
        assertThat(rt.debugReports()).isEmpty();
    }

    @Test
    void unmapNeverMapped() {
        expect(MisuseCheck.UNMAP_NEVER_MAPPED, () -> m.unmapPhys(page, 4096, TO_DEVICE, 0));
    }

    @Test
    void unmapInvalidAddress() {
        expect(MisuseCheck.UNMAP_INVALID_ADDRESS, () -> m.unmapPhys(DmaMapper.MAPPING_ERROR, 4096, TO_DEVICE, 0));
    }

    @Test
    void unmapWithDifferentSize() {
        long a = m.mapPhys(page, 4096, TO_DEVICE, 0);
        expect(MisuseCheck.UNMAP_SIZE, () -> m.unmapPhys(a, 2048, TO_DEVICE, 0));
        assertThat(rt.debugReports().getLast().message()).contains("[map size=4096 bytes] [unmap size=2048 bytes]");
        m.unmapPhys(a, 4096, TO_DEVICE, 0);
    }

    @Test
    void unmapWithWrongFunction() {
        ScatterList sg = new ScatterList(1).set(0, page, 4096);
        m.mapSg(sg, 1, TO_DEVICE, 0);
        expect(MisuseCheck.UNMAP_WRONG_FUNCTION, () -> m.unmapPhys(sg.dmaAddress(0), 4096, TO_DEVICE, 0));
        assertThat(rt.debugReports().getLast().message()).contains("[mapped as scatter-gather] [unmapped as single]");
        long r = m.mapPhys(machine.device("nvme0").bar(2).cpuAddress(), 4096, TO_DEVICE, DmaAttrs.MMIO);
        expect(MisuseCheck.UNMAP_WRONG_FUNCTION, () -> m.unmapPhys(r, 4096, TO_DEVICE, 0));
    }

    @Test
    void freeCoherentWithDifferentCpuAddress() {
        CoherentBuffer c = m.allocCoherent(4096, 0);
        try (Arena a = Arena.ofConfined()) {
            expect(MisuseCheck.FREE_CPU_ADDRESS, () -> m.freeCoherent(4096, a.allocate(4096), c.dmaAddress()));
        }
        m.freeCoherent(c);
    }

    @Test
    void unmapSgWithDifferentEntryCount() {
        ScatterList sg = new ScatterList(3).set(0, page, 4096).set(1, page + 4096, 4096).set(2, page + 8192, 4096);
        m.mapSg(sg, 3, TO_DEVICE, 0);
        expect(MisuseCheck.UNMAP_SG_NENTS, () -> m.unmapSg(sg, 2, TO_DEVICE, 0));
        m.unmapSg(sg, 3, TO_DEVICE, 0);
    }

    @Test
    void unmapWithDifferentDirection() {
        long a = m.mapPhys(page, 4096, TO_DEVICE, 0);
        expect(MisuseCheck.UNMAP_DIRECTION, () -> m.unmapPhys(a, 4096, BIDIRECTIONAL, 0));
    }

    @Test
    void syncOfMemoryNeverMapped() {
        expect(MisuseCheck.SYNC_NEVER_MAPPED, () -> m.syncForCpu(page, 64, FROM_DEVICE));
    }

    @Test
    void syncOutsideTheMapping() {
        long a = m.mapPhys(page, 4096, FROM_DEVICE, 0);
        expect(MisuseCheck.SYNC_OUTSIDE, () -> m.syncForCpu(a + 4000, 200, FROM_DEVICE));
    }

    @Test
    void syncWithDifferentDirection() {
        long a = m.mapPhys(page, 4096, FROM_DEVICE, 0);
        expect(MisuseCheck.SYNC_DIRECTION, () -> m.syncForCpu(a, 4096, TO_DEVICE));
    }

    @Test
    void syncReadOnlyMemoryForCpuWithADeviceWritingDirection() {
        long a = m.mapPhys(page, 4096, TO_DEVICE, 0);
        expect(MisuseCheck.SYNC_READ_ONLY_FOR_CPU, () -> m.syncForCpu(a, 4096, FROM_DEVICE));
    }

    @Test
    void syncWriteOnlyMemoryToDeviceWithACpuWritingDirection() {
        long a = m.mapPhys(page, 4096, FROM_DEVICE, 0);
        expect(MisuseCheck.SYNC_WRITE_ONLY_TO_DEVICE, () -> m.syncForDevice(a, 4096, TO_DEVICE));
    }

    @Test
    void syncSgWithDifferentEntryCount() {
        ScatterList sg = new ScatterList(2).set(0, page, 4096).set(1, page + 4096, 4096);
        m.mapSg(sg, 2, FROM_DEVICE, 0);
        expect(MisuseCheck.SYNC_SG_NENTS, () -> m.syncSgForCpu(sg, 1, FROM_DEVICE));
    }

    @Test
    void mapMemoryFromAnInvalidArea() {
        expect(MisuseCheck.MAP_INVALID_AREA, () -> m.mapPhys(0x9000_0000L, 4096, TO_DEVICE, 0));
        long cmb = machine.device("nvme0").bar(2).cpuAddress();
        expect(MisuseCheck.MAP_INVALID_AREA, () -> m.mapPhys(cmb, 4096, TO_DEVICE, 0));
        assertThat(rt.debugReports().getLast().message()).contains("a BAR needs the MMIO attribute");
        assertThat(rt.statistics("dmatest0").asMap()).containsEntry("maps", 0L);
    }

    @Test
    void sgSegmentLongerThanTheDeviceSupports() {
        ScatterList sg = new ScatterList(1).set(0, page, 128 * 1024);
        machine.pageAllocator().allocPages(5); // make sure the range is RAM we own
        expect(MisuseCheck.SG_SEGMENT_TOO_LONG, () -> m.mapSg(sg, 1, TO_DEVICE, 0));
        assertThat(rt.liveMappings("dmatest0")).as("the failed map was undone").isZero();
    }

    @Test
    void sgSegmentAcrossTheBoundary() {
        // nvme0 declares a 4 GiB segment boundary; without an IOMMU provider it is served by dma-direct
        DmaMapper nvme = rt.mapper("nvme0");
        ScatterList across = new ScatterList(1).set(0, (8L << 30) - 4096, 8192);
        int before = rt.debugReports().size();
        assertThatThrownBy(() -> nvme.mapSg(across, 1, TO_DEVICE, 0)).isInstanceOfSatisfying(DmaApiMisuseException.class, e -> {
            assertThat(e.check()).isEqualTo(MisuseCheck.SG_SEGMENT_ACROSS_BOUNDARY);
            assertThat(e.getMessage()).contains("[segment 0 dma=0x1fffff000] [len=8192] [boundary=0x100000000]");
        });
        assertThat(rt.debugReports()).hasSize(before + 1);
        assertThat(rt.liveMappings("nvme0")).isZero();
    }

    @Test
    void overlappingDeviceWritableMappingsOfOneCacheline() {
        long a = m.mapPhys(page, 32, FROM_DEVICE, 0);
        expect(MisuseCheck.CACHELINE_OVERLAP, () -> m.mapPhys(page + 32, 32, FROM_DEVICE, 0));
        m.unmapPhys(a, 32, FROM_DEVICE, 0);
        long b = m.mapPhys(page + 32, 32, FROM_DEVICE, 0); // the line is free again
        m.unmapPhys(b, 32, FROM_DEVICE, 0);
    }

    @Test
    void pendingMappingsWhenTheDeviceIsReleased() {
        m.mapPhys(page, 4096, TO_DEVICE, 0);
        expect(MisuseCheck.LEAK_AT_RELEASE, () -> rt.release("dmatest0"));
        assertThat(rt.debugReports().getLast().message()).contains("[count=1]").contains("[single dma=0x" + Long.toHexString(page));
    }

    @Test
    void mmioAttributeOnRam() {
        expect(MisuseCheck.MMIO_ON_RAM, () -> m.mapPhys(page, 4096, TO_DEVICE, DmaAttrs.MMIO));
    }

    @Test
    void reportModeRecordsEveryFindingAndLetsTheCallProceed() {
        rt.close();
        rt = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(Map.of("dma4j.debug.mode", "report"))).build();
        DmaMapper r = rt.mapper("dmatest0");
        long a = r.mapPhys(page, 4096, TO_DEVICE, 0);
        r.syncForCpu(a, 4096, FROM_DEVICE);
        r.unmapPhys(a, 2048, FROM_DEVICE, 0);
        assertThat(rt.debugReports()).extracting(DebugReport::check).containsExactly(
                MisuseCheck.SYNC_READ_ONLY_FOR_CPU, MisuseCheck.SYNC_DIRECTION, MisuseCheck.UNMAP_SIZE, MisuseCheck.UNMAP_DIRECTION);
        assertThat(rt.liveMappings("dmatest0")).isZero();
    }

    @Test
    void debugOffChecksNothing() {
        rt.close();
        rt = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(Map.of("dma4j.debug", "false"))).build();
        DmaMapper r = rt.mapper("dmatest0");
        r.unmapPhys(page, 4096, TO_DEVICE, 0); // the kernel would not notice either
        assertThat(rt.debugReports()).isEmpty();
        assertThat(rt.debugEnabled()).isFalse();
    }

    @Test
    void twoStepChecks() {
        MappingBackend backend = mock(MappingBackend.class);
        IovaOps ops = mock(IovaOps.class);
        when(backend.providerName()).thenReturn("two-step-fake");
        when(backend.twoStep()).thenReturn(ops);
        when(ops.tryAlloc(any(), anyLong(), anyLong())).thenAnswer(inv -> {
            io.dma4j.spi.MappingStates.setIova(inv.<IovaState>getArgument(0), 0x10_0000_0000L, inv.<Long>getArgument(2));
            return true;
        });
        DmaProvider fake = new DmaProvider() {
            @Override
            public String name() {
                return "two-step-fake";
            }

            @Override
            public String spiVersion() {
                return io.dma4j.spi.DmaSpi.VERSION;
            }

            @Override
            public Set<DmaRole> roles() {
                return Set.of(DmaRole.MAPPING_BACKEND);
            }

            @Override
            public int priority() {
                return -1;
            }

            @Override
            public MappingBackend createBackend(BackendContext context) {
                return backend;
            }
        };
        rt.close();
        rt = DmaRuntime.builder().machine(machine).addProvider(fake)
                .config(RuntimeConfig.of(Map.of("dma4j.backend.dmatest1", "two-step-fake"))).build();
        DmaMapper t = rt.mapper("dmatest1");
        IovaState s = new IovaState();
        assertThat(t.iovaTryAlloc(s, 0, 16384)).isTrue();
        t.iovaLink(s, page, 0, 8192, TO_DEVICE, 0);
        assertCheck(MisuseCheck.IOVA_LINK_OVERLAP, () -> t.iovaLink(s, page, 4096, 4096, TO_DEVICE, 0));
        assertCheck(MisuseCheck.IOVA_NOT_LINKED, () -> t.iovaSync(s, 0, 12288));
        t.iovaSync(s, 0, 8192);
        assertCheck(MisuseCheck.IOVA_STATE_IN_USE, () -> t.iovaTryAlloc(s, 0, 4096));
        assertCheck(MisuseCheck.IOVA_FREE_WITH_LINKS, () -> t.iovaFree(s));
        assertCheck(MisuseCheck.IOVA_DESTROY_LENGTH, () -> t.iovaDestroy(s, 4096, TO_DEVICE, 0));
        IovaState foreign = new IovaState();
        io.dma4j.spi.MappingStates.setIova(foreign, 0x1000, 4096);
        assertCheck(MisuseCheck.IOVA_UNKNOWN_STATE, () -> t.iovaLink(foreign, page, 0, 4096, TO_DEVICE, 0));
        assertThatThrownBy(() -> t.iovaLink(s, page, 12288, 8192, TO_DEVICE, 0)).isInstanceOfSatisfying(DmaApiMisuseException.class,
                e -> assertThat(e.check().id()).isEqualTo("iova-out-of-range"));
        t.iovaUnlink(s, 4096, 4096, TO_DEVICE, 0);
        assertCheck(MisuseCheck.IOVA_NOT_LINKED, () -> t.iovaUnlink(s, 4096, 4096, TO_DEVICE, 0));
        t.iovaDestroy(s, 4096, TO_DEVICE, 0);
        assertThat(s.useIova()).isFalse();
        // the backend saw exactly the calls that passed the checks
        verify(ops, times(1)).tryAlloc(any(), anyLong(), anyLong());
        verify(ops, times(1)).link(any(), anyLong(), anyLong(), anyLong(), any(), anyInt());
        verify(ops, times(1)).sync(s, 0, 8192);
        verify(ops, times(1)).unlink(s, 4096, 4096, TO_DEVICE, 0);
        verify(ops, times(1)).destroy(s, 4096, TO_DEVICE, 0);
        verify(ops, never()).free(any());
        IovaState leak = new IovaState();
        t.iovaTryAlloc(leak, 0, 4096);
        assertCheck(MisuseCheck.LEAK_AT_RELEASE, () -> rt.release("dmatest1"));
        verify(backend).release();
    }

    private void assertCheck(MisuseCheck check, Runnable call) {
        try {
            call.run();
            fail("expected " + check);
        } catch (DmaApiMisuseException e) {
            assertThat(e.check()).isEqualTo(check);
            assertThat(e.getMessage()).startsWith("dmatest1: DMA-API: " + check.text());
        }
    }
}
