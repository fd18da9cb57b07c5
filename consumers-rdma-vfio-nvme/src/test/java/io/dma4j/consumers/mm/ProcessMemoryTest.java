package io.dma4j.consumers.mm;

import io.dma4j.platform.Machine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The process address space, the interval-notifier sequence protocol (mm/mmu_notifier.c,
 * v6.16) and {@code hmm_range_fault}'s pfn words (mm/hmm.c, include/linux/hmm.h, v6.16).
 */
class ProcessMemoryTest {
    private static final long PAGE = ProcessMemory.PAGE_SIZE;
    private final Machine machine = Machine.createDefault();
    private final ProcessMemory mm = new ProcessMemory(machine.addressSpace(), machine.pageAllocator());
    private final List<MmuNotifierRange> seen = new ArrayList<>();

    @AfterEach
    void tearDown() {
        mm.close();
        machine.close();
    }

    private MmuIntervalNotifier watch(long va, long len) {
        return mm.notifierInsert(va, len, (sub, range, cur) -> {
            seen.add(range);
            sub.setSeq(cur);
            return true;
        });
    }

    private long[] snapshot(MmuIntervalNotifier sub, long va, int pages, long flags) {
        long[] pfns = new long[pages];
        HmmRange r = new HmmRange(sub, va, va + pages * PAGE, pfns, 0).defaultFlags(flags).notifierSeq(sub.readBegin());
        mm.mmapReadLock().lock();
        try {
            assertThat(Hmm.rangeFault(r)).isTrue();
        } finally {
            mm.mmapReadLock().unlock();
        }
        return pfns;
    }

    @Test
    void cpuTouchPopulatesZeroedFramesAndDataStays() {
        long va = mm.mmap(4 * PAGE, true, false);
        assertThat(mm.physAt(va)).isEqualTo(-1);
        assertThat(mm.read(va + 10, 4)).containsOnly(0);
        mm.write(va + PAGE - 2, new byte[] {1, 2, 3, 4}); // crosses a page
        assertThat(mm.read(va + PAGE - 2, 4)).containsExactly(1, 2, 3, 4);
        assertThat(mm.residentPages()).isEqualTo(2);
        long phys = mm.physAt(va + PAGE);
        assertThat(machine.addressSpace().readByte(phys)).isEqualTo((byte) 3);
        assertThat(mm.isDirty(va + PAGE)).isTrue();
    }

    @Test
    void badAccessesAreSegmentationFaultsThatChangeNothing() {
        long ro = mm.mmap(PAGE, false, false);
        assertThatThrownBy(() -> mm.write(ro, new byte[1])).isInstanceOf(SegmentationFaultException.class)
                .hasMessage(String.format("SIGSEGV at 0x%x: write to a read-only mapping", ro));
        assertThatThrownBy(() -> mm.read(0x1000, 1)).isInstanceOf(SegmentationFaultException.class).hasMessage("SIGSEGV at 0x1000: no mapping");
        assertThat(mm.residentPages()).isZero();
        assertThatThrownBy(() -> mm.mmap(100, true, false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("mmap length 100 (expected: a positive multiple of 4096 bytes)");
    }

    /** hmm_vma_handle_pte / hmm_vma_walk_hole: snapshot, fault, errors, sticky bits kept. */
    @Test
    void rangeFaultFillsPfnWordsWithTheKernelLayout() {
        long va = mm.mmap(4 * PAGE, true, false);
        MmuIntervalNotifier sub = watch(va, 4 * PAGE);
        mm.write(va + PAGE, new byte[] {7});
        long[] pfns = snapshot(sub, va, 4, 0);
        assertThat(pfns[0]).as("not present, not requested").isZero();
        assertThat(pfns[1]).isEqualTo(Hmm.VALID | Hmm.WRITE | (mm.physAt(va + PAGE) >>> 12));
        assertThat(Hmm.toPhys(pfns[1])).isEqualTo(mm.physAt(va + PAGE));

        long[] sticky = new long[4];
        sticky[2] = Hmm.DMA_MAPPED | Hmm.P2PDMA;
        HmmRange r = new HmmRange(sub, va, va + 4 * PAGE, sticky, 0).defaultFlags(Hmm.REQ_FAULT).notifierSeq(sub.readBegin());
        mm.mmapReadLock().lock();
        try {
            assertThat(Hmm.rangeFault(r)).isTrue();
        } finally {
            mm.mmapReadLock().unlock();
        }
        assertThat(java.util.Arrays.stream(sticky).allMatch(p -> (p & Hmm.VALID) != 0)).isTrue();
        assertThat(sticky[2] & Hmm.INOUT_FLAGS).as("sticky DMA bits kept").isEqualTo(Hmm.DMA_MAPPED | Hmm.P2PDMA);
        assertThat(mm.residentPages()).isEqualTo(4);
        assertThat(Hmm.mapOrder(sticky[0])).isZero();
    }

    @Test
    void rangeFaultErrorsAreTheKernelErrnos() {
        long ro = mm.mmap(2 * PAGE, false, false);
        MmuIntervalNotifier sub = watch(ro, 4 * PAGE); // covers a hole after the mapping (guard gap)
        long[] pfns = new long[4];
        HmmRange write = new HmmRange(sub, ro, ro + 2 * PAGE, pfns, 0).defaultFlags(Hmm.REQ_FAULT | Hmm.REQ_WRITE).notifierSeq(sub.readBegin());
        HmmRange hole = new HmmRange(sub, ro, ro + 4 * PAGE, pfns, 0).defaultFlags(Hmm.REQ_FAULT).notifierSeq(sub.readBegin());
        HmmRange peek = new HmmRange(sub, ro, ro + 4 * PAGE, pfns, 0).notifierSeq(sub.readBegin());
        mm.mmapReadLock().lock();
        try {
            assertThatThrownBy(() -> Hmm.rangeFault(write)).isInstanceOf(HmmFaultException.class)
                    .hasMessage(String.format("hmm_range_fault at 0x%x: write requested on a read-only mapping", ro))
                    .extracting(e -> ((HmmFaultException) e).errno()).isEqualTo(HmmFaultException.EPERM);
            assertThatThrownBy(() -> Hmm.rangeFault(hole)).isInstanceOf(HmmFaultException.class)
                    .extracting(e -> ((HmmFaultException) e).errno()).isEqualTo(HmmFaultException.EFAULT);
            assertThat(Hmm.rangeFault(peek)).isTrue();
        } finally {
            mm.mmapReadLock().unlock();
        }
        assertThat(pfns[0] & Hmm.WRITE).as("read-only page: no WRITE").isZero();
        assertThat(pfns[0] & Hmm.VALID).isNotZero();
        assertThat(pfns[2]).as("no VMA, not requested: ERROR").isEqualTo(Hmm.ERROR);
        assertThatThrownBy(() -> Hmm.rangeFault(peek)).isInstanceOf(IllegalStateException.class).hasMessageContaining("needs the mmap lock");
    }

    @Test
    void hugeMappingsReportOrderNine() {
        long va = mm.mmap(ProcessMemory.HUGE_PAGE_SIZE, true, true);
        MmuIntervalNotifier sub = watch(va, ProcessMemory.HUGE_PAGE_SIZE);
        mm.write(va + 5 * PAGE, new byte[] {1});
        long[] pfns = snapshot(sub, va, 512, 0);
        assertThat(java.util.Arrays.stream(pfns).allMatch(p -> Hmm.mapOrder(p) == 9 && (p & Hmm.VALID) != 0)).isTrue();
        assertThat(Hmm.toPhys(pfns[511]) - Hmm.toPhys(pfns[0])).isEqualTo(511 * PAGE);
        assertThat(machine.pageAllocator().orderOf(Hmm.toPhys(pfns[0]))).isEqualTo(9);
        assertThatThrownBy(() -> mm.discard(va + PAGE, PAGE)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("splits a 2 MiB page");
    }

    /** mmu_interval_read_begin / set_seq / read_retry and mn_itree_inv_end's seq++. */
    @Test
    void sequenceProtocolMakesReadersRetryAndWaitsDuringInvalidation() throws Exception {
        long va = mm.mmap(2 * PAGE, true, false);
        mm.write(va, new byte[] {1});
        AtomicLong waiterSeq = new AtomicLong();
        AtomicLong callbackSeq = new AtomicLong();
        boolean[] waiterDoneInside = {true};
        MmuIntervalNotifier[] self = new MmuIntervalNotifier[1];
        Thread[] waiters = new Thread[1];
        self[0] = mm.notifierInsert(va, 2 * PAGE, (sub, range, cur) -> {
            assertThat(cur & 1).as("odd while invalidating").isEqualTo(1);
            sub.setSeq(cur);
            callbackSeq.set(cur);
            Thread waiter = Thread.ofPlatform().start(() -> waiterSeq.set(self[0].readBegin()));
            waiters[0] = waiter;
            while (waiter.getState() != Thread.State.WAITING) {
                Thread.onSpinWait();
            }
            waiterDoneInside[0] = !waiter.isAlive();
            return true;
        });
        long seq = self[0].readBegin();
        assertThat(self[0].readRetry(seq)).isFalse();
        mm.discard(va, PAGE);
        assertThat(self[0].readRetry(seq)).as("an invalidation ran: retry").isTrue();
        assertThat(waiterDoneInside[0]).as("read_begin waited while the invalidation ran").isFalse();
        waiters[0].join();
        assertThat(waiterSeq.get()).as("the waiter read the sequence of the finished invalidation").isEqualTo(callbackSeq.get());
        long next = self[0].readBegin();
        assertThat(next).isEqualTo(callbackSeq.get());
        assertThat(self[0].readRetry(next)).isFalse();
        assertThat(mm.physAt(va)).isEqualTo(-1);
    }

    @Test
    void aNonBlockableInvalidationRefusedChangesNothing() {
        long va = mm.mmap(PAGE, true, false);
        mm.write(va, new byte[] {42});
        MmuIntervalNotifier sub = mm.notifierInsert(va, PAGE, (s, range, cur) -> range.blockable());
        long before = mm.physAt(va);
        assertThat(mm.tryDiscard(va, PAGE)).isFalse();
        assertThat(mm.physAt(va)).isEqualTo(before);
        assertThat(mm.read(va, 1)).containsExactly(42);
        long seq = sub.readBegin(); // would hang if the refused invalidation had not ended
        assertThat(sub.readRetry(seq)).isFalse();
        mm.discard(va, PAGE);
        assertThat(mm.physAt(va)).isEqualTo(-1);
    }

    @Test
    void everyEventIsAnnouncedWithItsKindAndRange() {
        long va = mm.mmap(4 * PAGE, true, false);
        MmuIntervalNotifier sub = watch(va, 4 * PAGE);
        byte[] data = {9, 8, 7};
        mm.write(va + PAGE, data);
        long allocated = machine.pageAllocator().allocatedPages();
        long old = mm.physAt(va + PAGE);
        long moved = mm.migrate(va + PAGE);
        assertThat(moved).isNotEqualTo(old & ~(PAGE - 1));
        assertThat(mm.read(va + PAGE, 3)).containsExactly(data);
        assertThat(machine.pageAllocator().allocatedPages()).as("old frame freed").isEqualTo(allocated);
        mm.writeProtect(va, 4 * PAGE);
        assertThat(mm.isDirty(va + PAGE)).isFalse();
        assertThat(snapshot(sub, va + PAGE, 1, 0)[0] & Hmm.WRITE).isZero();
        mm.write(va + PAGE, new byte[] {1});
        assertThat(mm.isDirty(va + PAGE)).isTrue();
        mm.mprotect(va, 2 * PAGE, false);
        assertThatThrownBy(() -> mm.write(va, new byte[1])).isInstanceOf(SegmentationFaultException.class);
        mm.write(va + 2 * PAGE, new byte[1]); // the other half of the split VMA stays writable
        mm.munmap(va + 3 * PAGE, PAGE);
        assertThat(seen).extracting(MmuNotifierRange::event).containsExactly(MmuNotifierEvent.MIGRATE, MmuNotifierEvent.PROTECTION_PAGE,
                MmuNotifierEvent.PROTECTION_VMA, MmuNotifierEvent.UNMAP);
        assertThat(seen.get(0)).isEqualTo(new MmuNotifierRange(va + PAGE, va + 2 * PAGE, MmuNotifierEvent.MIGRATE, true));
        assertThat(seen.get(3)).isEqualTo(new MmuNotifierRange(va + 3 * PAGE, va + 4 * PAGE, MmuNotifierEvent.UNMAP, true));
        assertThatThrownBy(() -> mm.read(va + 3 * PAGE, 1)).isInstanceOf(SegmentationFaultException.class);
    }

    @Test
    void forkSharesCopyOnWriteAndAWriteBreaksIt() {
        long va = mm.mmap(PAGE, true, false);
        mm.write(va, new byte[] {1});
        MmuIntervalNotifier sub = watch(va, PAGE);
        long frame = mm.physAt(va);
        try (ProcessMemory child = mm.fork()) {
            assertThat(seen).extracting(MmuNotifierRange::event).containsExactly(MmuNotifierEvent.PROTECTION_PAGE);
            assertThat(snapshot(sub, va, 1, 0)[0] & Hmm.WRITE).as("shared: read-only").isZero();
            assertThat(child.physAt(va)).isEqualTo(frame);
            mm.write(va, new byte[] {2});
            assertThat(seen).extracting(MmuNotifierRange::event).endsWith(MmuNotifierEvent.CLEAR);
            assertThat(mm.physAt(va)).isNotEqualTo(frame);
            assertThat(child.read(va, 1)).containsExactly(1);
            assertThat(mm.read(va, 1)).containsExactly(2);
            child.write(va, new byte[] {3}); // last sharer: reuses its frame
            assertThat(child.physAt(va)).isEqualTo(frame);
        }
        long allocated = machine.pageAllocator().allocatedPages();
        mm.munmap(va, PAGE);
        assertThat(machine.pageAllocator().allocatedPages()).isEqualTo(allocated - 1);
    }

    @Test
    void closedAddressSpaceRefusesEverything() {
        long va = mm.mmap(PAGE, true, false);
        mm.write(va, new byte[1]);
        long allocated = machine.pageAllocator().allocatedPages();
        mm.close();
        assertThat(machine.pageAllocator().allocatedPages()).isEqualTo(allocated - 1);
        assertThatThrownBy(() -> mm.read(va, 1)).isInstanceOf(IllegalStateException.class).hasMessage("the process address space is closed");
    }
}
