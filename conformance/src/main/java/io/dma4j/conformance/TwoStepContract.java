package io.dma4j.conformance;

import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.IovaState;
import io.dma4j.platform.device.CopyEngine;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The contract of the two-step IOVA calls ({@code dma_iova_*}). Every test needs
 * {@link Capability#TWO_STEP}; a backend without it is covered by
 * {@link MappingBackendContract}'s fallback rule.
 */
public abstract class TwoStepContract extends BackendFixture {
    private static final int PAGES = 8;

    @Test
    @Tag("optional")
    @DisplayName("optional (TWO_STEP): dma_iova_link + dma_iova_sync — scattered pages become one range the device reads in order")
    void optional_linkSync_oneContiguousRange() {
        require(Capability.TWO_STEP);
        long[] p = new long[PAGES];
        for (int i = 0; i < PAGES; i++) {
            p[i] = pages(0);
            pages(0);
            fill(p[i], 4096, 20 + i);
        }
        IovaState st = new IovaState();
        assertTrue(backend.iovaTryAlloc(st, p[0], PAGES * 4096L), "try-alloc failed on an idle domain");
        assertEquals(PAGES * 4096L, st.size());
        for (int i = 0; i < PAGES; i++) {
            backend.iovaLink(st, p[i], i * 4096L, 4096, DmaDirection.TO_DEVICE, 0);
        }
        backend.iovaSync(st, 0, PAGES * 4096L);
        long out = pages(3);
        long o = backend.mapPhys(out, PAGES * 4096L, DmaDirection.FROM_DEVICE, 0);
        assertEquals(CopyEngine.STATUS_DONE, deviceCopy(st.addr(), o, PAGES * 4096L));
        backend.unmapPhys(o, PAGES * 4096L, DmaDirection.FROM_DEVICE, 0);
        for (int i = 0; i < PAGES; i++) {
            assertTrue(holds(out + i * 4096L, 4096, 20 + i), "page " + i + " not at offset " + i * 4096);
        }
        backend.iovaDestroy(st, PAGES * 4096L, DmaDirection.TO_DEVICE, 0);
        assertFalse(st.useIova(), "destroy must clear the state");
    }

    @Test
    @Tag("optional")
    @DisplayName("optional (TWO_STEP, TRANSLATES): dma_iova_unlink — the range is gone at once, the IOVA stays reserved")
    void optional_unlink_invalidatesAtOnce() {
        require(Capability.TWO_STEP);
        require(Capability.TRANSLATES);
        long a = pages(0);
        long b = pages(0);
        long out = pages(0);
        IovaState st = new IovaState();
        assertTrue(backend.iovaTryAlloc(st, a, 8192));
        backend.iovaLink(st, a, 0, 4096, DmaDirection.TO_DEVICE, 0);
        backend.iovaLink(st, b, 4096, 4096, DmaDirection.TO_DEVICE, 0);
        backend.iovaSync(st, 0, 8192);
        long o = backend.mapPhys(out, 4096, DmaDirection.FROM_DEVICE, 0);
        assertEquals(CopyEngine.STATUS_DONE, deviceCopy(st.addr() + 4096, o, 8), "the linked range is not reachable");
        backend.iovaUnlink(st, 4096, 4096, DmaDirection.TO_DEVICE, 0);
        assertEquals(CopyEngine.STATUS_FAULT, deviceCopy(st.addr() + 4096, o, 8), "an unlinked range is still reachable");
        assertEquals(CopyEngine.STATUS_DONE, deviceCopy(st.addr(), o, 8), "unlinking one range removed another");
        backend.iovaLink(st, b, 4096, 4096, DmaDirection.TO_DEVICE, 0); // the IOVA is still reserved
        backend.iovaSync(st, 4096, 4096);
        backend.iovaDestroy(st, 8192, DmaDirection.TO_DEVICE, 0);
        backend.unmapPhys(o, 4096, DmaDirection.FROM_DEVICE, 0);
    }

    @Test
    @Tag("optional")
    @DisplayName("optional (TWO_STEP): dma_iova_destroy — an IOVA is not reused while the device may still reach the old page")
    void optional_destroy_noEarlyReuse() {
        require(Capability.TWO_STEP);
        long out = pages(0);
        long o = backend.mapPhys(out, 4096, DmaDirection.FROM_DEVICE, 0);
        for (int round = 0; round < 4; round++) {
            long p = pages(0);
            fill(p, 4096, 30 + round);
            IovaState st = new IovaState();
            assertTrue(backend.iovaTryAlloc(st, p, 4096));
            backend.iovaLink(st, p, 0, 4096, DmaDirection.TO_DEVICE, 0);
            backend.iovaSync(st, 0, 4096);
            assertEquals(CopyEngine.STATUS_DONE, deviceCopy(st.addr(), o, 4096));
            assertTrue(holds(out, 4096, 30 + round), "round " + round + ": the device read another page through a reused IOVA");
            backend.iovaDestroy(st, 4096, DmaDirection.TO_DEVICE, 0);
        }
        backend.unmapPhys(o, 4096, DmaDirection.FROM_DEVICE, 0);
    }

    @Test
    @Tag("optional")
    @DisplayName("optional (TWO_STEP): dma_iova_link — only the first link may start mid-granule (-EIO)")
    void optional_link_midGranuleLaterLinkIsRefused() {
        require(Capability.TWO_STEP);
        long a = pages(0);
        long b = pages(0);
        IovaState st = new IovaState();
        assertTrue(backend.iovaTryAlloc(st, a + 0x200, 0x2000));
        assertEquals(0x200, st.addr() & 0xFFF, "the IOVA must carry the physical address's offset in the granule");
        backend.iovaLink(st, a + 0x200, 0, 0xE00, DmaDirection.BIDIRECTIONAL, 0);
        assertThrows(DmaApiMisuseException.class, () -> backend.iovaLink(st, b + 0x10, 0xE00, 0x100, DmaDirection.BIDIRECTIONAL, 0));
        backend.iovaDestroy(st, 0xE00, DmaDirection.BIDIRECTIONAL, 0);
    }
}
