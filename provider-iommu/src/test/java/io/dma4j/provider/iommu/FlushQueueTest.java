package io.dma4j.provider.iommu;

import io.dma4j.spi.ManualClock;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The lazy-mode flush queue's accounting: an unmapped IOVA goes back to the allocator once,
 * after a flush that started after it was queued has finished (the start and finish counters
 * of {@code fq_flush_iotlb}, drivers/iommu/dma-iommu.c, v6.7+), and never before or never.
 */
class FlushQueueTest {
    /** Records what was freed; a flush by the thread named "slow" waits until released. */
    private static final class Owner implements FlushQueue.Owner {
        final List<Long> freed = new ArrayList<>();
        final CountDownLatch slowInFlush = new CountDownLatch(1);
        final CountDownLatch releaseSlow = new CountDownLatch(1);
        int flushes;

        @Override
        public void flushIotlbAll() {
            synchronized (this) {
                flushes++;
            }
            if (Thread.currentThread().getName().equals("slow")) {
                slowInFlush.countDown();
                try {
                    releaseSlow.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        @Override
        public synchronized void freeIova(long pfn, long pages) {
            freed.add(pfn);
        }

        synchronized List<Long> freed() {
            return List.copyOf(freed);
        }
    }

    /**
     * Defect 6 of the reliability issue: a full ring whose own flush finished while another
     * thread's flush was still in progress was not yet free to retire its entries (their
     * stamp equals the finish count), and the next entry was written anyway: the ring wrapped
     * to empty and its 255 queued IOVAs were never freed (in-use granules stayed high after
     * the timeout). The queue now flushes until the ring has room.
     */
    @Test
    void aFullRingDuringAnotherThreadsFlushLosesNoEntry() throws Exception {
        Owner owner = new Owner();
        ManualClock clock = new ManualClock();
        FlushQueue q = new FlushQueue(owner, false, clock);
        Thread slow = new Thread(q::flushAll, "slow");
        slow.start();
        assertThat(owner.slowInFlush.await(10, TimeUnit.SECONDS)).isTrue(); // start count 1, finish count 0
        int usable = FlushQueue.PER_THREAD_SLOTS - 1;
        for (long pfn = 1; pfn <= usable; pfn++) {
            q.queue(pfn, 1); // stamped 1: needs a finish count of 2
        }
        assertThat(q.depth()).isEqualTo(usable);
        q.queue(1000, 1); // the ring is full: flush (finish count 1, still not enough), so flush again
        assertThat(q.depth()).as("the full ring was retired by the second flush; only the new entry waits").isEqualTo(1);
        assertThat(owner.freed()).hasSize(usable).doesNotContain(1000L);
        owner.releaseSlow.countDown();
        slow.join();
        clock.advance(TimeUnit.MILLISECONDS.toNanos(FlushQueue.PER_THREAD_TIMEOUT_MS));
        assertThat(q.depth()).isZero();
        List<Long> expected = new ArrayList<>();
        for (long pfn = 1; pfn <= usable; pfn++) {
            expected.add(pfn);
        }
        expected.add(1000L);
        assertThat(owner.freed()).as("every IOVA freed once, in queue order").containsExactlyElementsOf(expected);
    }

    @Test
    void anEntryIsFreedOnlyByAFlushThatStartedAfterItWasQueued() throws Exception {
        Owner owner = new Owner();
        ManualClock clock = new ManualClock();
        FlushQueue q = new FlushQueue(owner, false, clock);
        Thread slow = new Thread(q::flushAll, "slow");
        slow.start();
        assertThat(owner.slowInFlush.await(10, TimeUnit.SECONDS)).isTrue();
        q.queue(7, 1); // queued while a flush is in progress: that flush may have read the IOTLB before the unmap
        owner.releaseSlow.countDown();
        slow.join();
        assertThat(q.depth()).as("the flush in progress when it was queued does not retire it").isEqualTo(1);
        assertThat(owner.freed()).isEmpty();
        assertThat(clock.pendingTimers()).isEqualTo(1);
        clock.advance(TimeUnit.MILLISECONDS.toNanos(FlushQueue.PER_THREAD_TIMEOUT_MS));
        assertThat(owner.freed()).containsExactly(7L);
        assertThat(q.depth()).isZero();
    }
}
