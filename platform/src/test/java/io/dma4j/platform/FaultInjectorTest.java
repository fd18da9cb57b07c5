package io.dma4j.platform;

import io.dma4j.platform.device.FaultReason;
import io.dma4j.platform.fault.FaultInjector;
import io.dma4j.platform.fault.FaultInjector.Point;
import io.dma4j.platform.memory.PageAllocationException;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The fault-injection settings behave as lib/fault-inject.c's should_fail_ex (v6.8+). */
class FaultInjectorTest {
    private static List<Boolean> calls(FaultInjector f, Point p, String device, int n) {
        List<Boolean> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(f.shouldFail(p, device));
        }
        return out;
    }

    @Test
    void offByDefaultAndArmedOnlyWhileAPointOrFailNthIsOn() {
        FaultInjector f = new FaultInjector();
        assertThat(f.armed()).isFalse();
        assertThat(calls(f, Point.PAGE_ALLOC, null, 100)).containsOnly(false);
        f.point(Point.PAGE_ALLOC).probability(100);
        assertThat(f.armed()).isTrue();
        f.point(Point.PAGE_ALLOC).probability(0);
        assertThat(f.armed()).isFalse();
        f.setFailNth(3);
        assertThat(f.armed()).isTrue();
        f.setFailNth(0);
        assertThat(f.armed()).isFalse();
    }

    @Test
    void timesIntervalAndDeviceFilterCountAsTheKernelDoes() {
        FaultInjector f = new FaultInjector();
        f.point(Point.IOVA_ALLOC).probability(100).times(2);
        assertThat(calls(f, Point.IOVA_ALLOC, "nvme0", 5)).containsExactly(true, true, false, false, false);
        assertThat(f.point(Point.IOVA_ALLOC).failures()).isEqualTo(2);
        f.point(Point.IOVA_ALLOC).reset();
        f.point(Point.IOVA_ALLOC).probability(100).interval(3);
        assertThat(calls(f, Point.IOVA_ALLOC, "nvme0", 7)).containsExactly(false, false, true, false, false, true, false);
        f.point(Point.IOVA_ALLOC).reset();
        f.point(Point.IOVA_ALLOC).probability(100).device("rnic0");
        assertThat(calls(f, Point.IOVA_ALLOC, "nvme0", 3)).containsOnly(false);
        assertThat(calls(f, Point.IOVA_ALLOC, null, 3)).as("a call with no device does not match a device filter").containsOnly(false);
        assertThat(calls(f, Point.IOVA_ALLOC, "rnic0", 2)).containsOnly(true);
        assertThat(f.point(Point.IOVA_ALLOC).eligibleCalls()).isEqualTo(2);
        assertThat(calls(f, Point.SWIOTLB, "rnic0", 2)).as("other points stay off").containsOnly(false);
    }

    @Test
    void probabilityDrawsRepeatWithTheSameSeed() {
        FaultInjector a = new FaultInjector();
        FaultInjector b = new FaultInjector();
        a.configure(Map.of("dma4j.fail.seed", "42", "dma4j.fail.swiotlb.probability", "30"));
        b.configure(Map.of("dma4j.fail.seed", "42", "dma4j.fail.swiotlb.probability", "30"));
        List<Boolean> x = calls(a, Point.SWIOTLB, "d", 1000);
        assertThat(x).isEqualTo(calls(b, Point.SWIOTLB, "d", 1000));
        long failed = x.stream().filter(v -> v).count();
        assertThat(failed).as("about 30 %%").isBetween(220L, 380L);
    }

    @Test
    void failNthFailsTheNthCallOnThisThreadOnly() throws Exception {
        FaultInjector f = new FaultInjector();
        f.setFailNth(3);
        assertThat(f.shouldFail(Point.PAGE_ALLOC, null)).isFalse();
        assertThat(f.failNth()).isEqualTo(2);
        Thread other = new Thread(() -> assertThat(f.shouldFail(Point.PAGE_ALLOC, null)).isFalse());
        other.start();
        other.join();
        assertThat(f.failNth()).as("another thread's calls do not count").isEqualTo(2);
        assertThat(f.shouldFail(Point.DMA_TRANSFER, "x")).isFalse();
        assertThat(f.shouldFail(Point.IOVA_ALLOC, "x")).as("the third call, at any point").isTrue();
        assertThat(f.failNth()).as("fired").isZero();
        assertThat(f.shouldFail(Point.IOVA_ALLOC, "x")).isFalse();
        assertThat(f.armed()).isFalse();
        assertThat(f.failures()).containsExactly(Map.entry(Point.IOVA_ALLOC, 1L));
        f.setFailNth(2, Set.of(Point.SWIOTLB));
        assertThat(f.shouldFail(Point.PAGE_ALLOC, null)).as("not a counted point").isFalse();
        assertThat(f.shouldFail(Point.SWIOTLB, "x")).isFalse();
        assertThat(f.shouldFail(Point.SWIOTLB, "x")).isTrue();
    }

    @Test
    void badSettingsAreRefusedWithTheirName() {
        FaultInjector f = new FaultInjector();
        assertThatThrownBy(() -> f.configure(Map.of("dma4j.fail.slab.probability", "5"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("configuration dma4j.fail.slab.probability: no fault point 'slab' (points: page_alloc, iova_alloc, pgtable_alloc, "
                        + "swiotlb, p2pmem, coherent_alloc, dma_transfer, device_command)");
        assertThatThrownBy(() -> f.configure(Map.of("dma4j.fail.swiotlb.probability", "101"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("dma4j.fail.swiotlb.probability: 101 (expected: 0..100)");
        assertThatThrownBy(() -> f.configure(Map.of("dma4j.fail.swiotlb.times", "often"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("configuration dma4j.fail.swiotlb.times: 'often' is not a whole number");
        assertThatThrownBy(() -> f.configure(Map.of("dma4j.fail.swiotlb.space", "4"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("configuration dma4j.fail.swiotlb.space: unknown setting 'space' (settings: probability, interval, times, device)");
        assertThatThrownBy(() -> f.point(Point.P2PMEM).interval(0)).hasMessage("dma4j.fail.p2pmem.interval: 0 (expected: >= 1)");
        assertThatThrownBy(() -> f.setFailNth(-1)).hasMessage("fail-nth: -1 (expected: >= 0; 0 disarms)");
        assertThat(f.armed()).as("nothing was half-applied").isFalse();
    }

    @Test
    void theMachinesPageAllocatorAndDmaPortsFailWhereTold() {
        try (Machine m = Machine.createDefault(); Arena arena = Arena.ofConfined()) {
            FaultInjector f = m.faultInjector();
            long before = m.pageAllocator().allocatedPages();
            f.point(Point.PAGE_ALLOC).probability(100).times(1);
            assertThatThrownBy(() -> m.pageAllocator().allocPages(2)).isInstanceOf(PageAllocationException.class)
                    .hasMessage("no free block of order 2 (16 KiB): injected failure (page_alloc)");
            assertThat(m.pageAllocator().allocatedPages()).as("nothing taken").isEqualTo(before);
            long page = m.pageAllocator().allocPages(0);
            m.addressSpace().writeLong(page, 0x1234L);
            MemorySegment buf = arena.allocate(4096);
            f.point(Point.DMA_TRANSFER).probability(100).times(1).device("dmatest0");
            var port = m.device("dmatest0").port();
            assertThat(port.read(page, buf, 0, 4096)).as("the injected transfer moves nothing").isZero();
            assertThat(m.faultLog().last().device()).isEqualTo("dmatest0");
            assertThat(m.faultLog().last().reason()).isEqualTo(FaultReason.INJECTED);
            assertThat(port.read(page, buf, 0, 4096)).as("times 1: the next one works").isEqualTo(4096);
            assertThat(buf.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0)).isEqualTo(0x1234L);
            assertThat(f.failures()).containsEntry(Point.PAGE_ALLOC, 1L).containsEntry(Point.DMA_TRANSFER, 1L);
        }
    }
}
