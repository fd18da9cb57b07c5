package io.dma4j.conformance;

import io.dma4j.api.DmaAttrs;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMappingException;
import io.dma4j.platform.Machine;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.spi.BounceService;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.ProviderSettings;
import io.dma4j.spi.RoleContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The contract of a bounce-buffer role (the kernel's swiotlb): the copy table by
 * direction, sub-range syncs, the min align mask, a clean failure when full.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class BounceServiceContract {
    protected Machine machine;
    protected PhysicalAddressSpace cpu;
    protected BounceService bounce;
    protected Device device;

    /** The provider under test. */
    protected abstract DmaProvider provider();

    /** Its settings for the run (a small pool keeps the exhaustion test quick). */
    protected ProviderSettings settings() {
        return ProviderSettings.EMPTY;
    }

    @BeforeEach
    final void createService() {
        machine = Machine.createDefault();
        cpu = machine.addressSpace();
        bounce = provider().createBounceService(new RoleContext(machine, settings()));
        device = machine.device("legacy32");
    }

    @AfterEach
    final void closeMachine() {
        machine.close();
    }

    private long high(int order) {
        return machine.pageAllocator().allocPages(order, 4L << 30, Long.MAX_VALUE);
    }

    private void fill(long phys, long len, int seed) {
        for (long i = 0; i < len; i++) {
            cpu.writeByte(phys + i, (byte) (seed + i * 7));
        }
    }

    private boolean holds(long phys, long len, int seed) {
        for (long i = 0; i < len; i++) {
            if (cpu.readByte(phys + i) != (byte) (seed + i * 7)) {
                return false;
            }
        }
        return true;
    }

    @Test
    @Tag("required")
    @DisplayName("required: swiotlb_tbl_map_single — the original is copied in whatever the direction")
    void required_map_copiesInForEveryDirection() {
        for (DmaDirection dir : new DmaDirection[] {DmaDirection.TO_DEVICE, DmaDirection.FROM_DEVICE, DmaDirection.BIDIRECTIONAL}) {
            long orig = high(1) + 0x10;
            fill(orig, 3000, dir.ordinal());
            long b = bounce.map(device, orig, 3000, 0, 0, dir, 0);
            assertTrue(bounce.isBounce(b), "isBounce must know its own buffer");
            assertTrue(holds(b, 3000, dir.ordinal()), dir + ": the bounce buffer does not hold the original");
            bounce.unmap(device, b, 3000, dir, DmaAttrs.SKIP_CPU_SYNC);
        }
    }

    @Test
    @Tag("required")
    @DisplayName("required: swiotlb_tbl_unmap_single — copies back for FROM_DEVICE/BIDIRECTIONAL only, never with SKIP_CPU_SYNC")
    void required_unmap_copiesBackOnlyForDeviceWrites() {
        long orig = high(1);
        fill(orig, 4096, 1);
        long b = bounce.map(device, orig, 4096, 0, 0, DmaDirection.FROM_DEVICE, 0);
        fill(b, 4096, 2); // the device writes
        bounce.unmap(device, b, 4096, DmaDirection.FROM_DEVICE, 0);
        assertTrue(holds(orig, 4096, 2), "FROM_DEVICE: the device's bytes were not copied back");
        long b2 = bounce.map(device, orig, 4096, 0, 0, DmaDirection.TO_DEVICE, 0);
        fill(b2, 4096, 3);
        bounce.unmap(device, b2, 4096, DmaDirection.TO_DEVICE, 0);
        assertTrue(holds(orig, 4096, 2), "TO_DEVICE: bytes were copied back");
        long b3 = bounce.map(device, orig, 4096, 0, 0, DmaDirection.BIDIRECTIONAL, 0);
        fill(b3, 4096, 4);
        bounce.unmap(device, b3, 4096, DmaDirection.BIDIRECTIONAL, DmaAttrs.SKIP_CPU_SYNC);
        assertTrue(holds(orig, 4096, 2), "SKIP_CPU_SYNC: bytes were copied back");
    }

    @Test
    @Tag("required")
    @DisplayName("required: swiotlb_sync_single_for_cpu/device — copies by direction, just the range asked for")
    void required_syncs_copyByDirectionAndRange() {
        long orig = high(1);
        fill(orig, 4096, 5);
        long b = bounce.map(device, orig, 4096, 0, 0, DmaDirection.BIDIRECTIONAL, 0);
        fill(b, 4096, 6);
        bounce.syncForCpu(device, b + 1000, 500, DmaDirection.BIDIRECTIONAL);
        for (long i = 0; i < 4096; i++) {
            byte expect = (byte) ((i >= 1000 && i < 1500 ? 6 : 5) + i * 7);
            if (cpu.readByte(orig + i) != expect) {
                fail("syncForCpu of [1000, 1500) changed byte " + i + " wrongly");
            }
        }
        fill(orig, 4096, 7);
        bounce.syncForDevice(device, b, 4096, DmaDirection.BIDIRECTIONAL);
        assertTrue(holds(b, 4096, 7), "syncForDevice did not copy the CPU's bytes in");
        fill(orig, 4096, 8);
        bounce.syncForDevice(device, b, 4096, DmaDirection.FROM_DEVICE);
        assertTrue(holds(b, 4096, 7), "syncForDevice copied for FROM_DEVICE");
        bounce.unmap(device, b, 4096, DmaDirection.BIDIRECTIONAL, DmaAttrs.SKIP_CPU_SYNC);
    }

    @Test
    @Tag("required")
    @DisplayName("required: min_align_mask — the bounce address keeps the original's bits under the device's mask")
    void required_minAlignMask_keepsLowBits() {
        Device nvme = machine.device("nvme0"); // min align mask 0xfff
        for (long off : new long[] {0, 0x123, 0x800, 0xfff}) {
            long orig = high(1) + off;
            long b = bounce.map(nvme, orig, 1000, 0, 0, DmaDirection.TO_DEVICE, 0);
            assertEquals(orig & 0xfff, b & 0xfff, "offset 0x" + Long.toHexString(off));
            bounce.unmap(nvme, b, 1000, DmaDirection.TO_DEVICE, 0);
        }
    }

    @Test
    @Tag("required")
    @DisplayName("required: a full pool fails with DmaMappingException, and frees make room again")
    void required_full_failsCleanlyAndRecovers() {
        long orig = high(6);
        List<Long> live = new ArrayList<>();
        try {
            for (int i = 0; i < 100_000; i++) {
                live.add(bounce.map(device, orig, 256 * 1024, 0, 0, DmaDirection.TO_DEVICE, 0));
            }
            fail("the pool never filled");
        } catch (DmaMappingException full) {
            assertFalse(live.isEmpty(), "not even one mapping fit");
        }
        bounce.unmap(device, live.removeLast(), 256 * 1024, DmaDirection.TO_DEVICE, 0);
        live.add(bounce.map(device, orig, 256 * 1024, 0, 0, DmaDirection.TO_DEVICE, 0));
        for (long b : live) {
            bounce.unmap(device, b, 256 * 1024, DmaDirection.TO_DEVICE, 0);
        }
    }
}
