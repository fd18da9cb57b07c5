package io.dma4j.platform;

import io.dma4j.platform.device.CopyEngine;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.device.DmaAccess;
import io.dma4j.platform.device.DmaTranslation;
import io.dma4j.platform.device.Fault;
import io.dma4j.platform.device.FaultReason;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CopyEngineTest {
    @Test
    void copiesBytesThroughItsDmaPort() {
        try (Machine m = Machine.createDefault()) {
            PhysicalAddressSpace cpu = m.addressSpace();
            Device d = m.device("dmatest0");
            long src = m.pageAllocator().allocPages(2);
            long dst = m.pageAllocator().allocPages(2);
            for (int i = 0; i < 4 * 4096; i += 8) {
                cpu.writeLong(src + i, 0x0101010101010101L * (i & 0xFF) + i);
            }
            long status = CopyEngine.copy(cpu, d.bar(0), src, dst + 8, 4 * 4096 - 8);
            assertThat(status).isEqualTo(CopyEngine.STATUS_DONE);
            for (int i = 0; i < 4 * 4096 - 8; i += 8) {
                assertThat(cpu.readLong(dst + 8 + i)).isEqualTo(cpu.readLong(src + i));
            }
            assertThat(d.port().bytesRead()).isEqualTo(4 * 4096 - 8);
            assertThat(d.port().bytesWritten()).isEqualTo(4 * 4096 - 8);
            assertThat(cpu.readLong(d.bar(0).cpuAddress() + CopyEngine.REG_BYTES_DONE)).isEqualTo(4 * 4096 - 8);
        }
    }

    @Test
    void addressesBeyondTheDeviceFaultAndNothingIsWritten() {
        try (Machine m = Machine.createDefault()) {
            PhysicalAddressSpace cpu = m.addressSpace();
            Device d = m.device("legacy32");
            long src = 5L << 30; // above the 32-bit reach of legacy32
            cpu.writeLong(src, 42);
            long dst = m.pageAllocator().allocPages(0, 1L << 32);
            cpu.writeLong(dst, 7);
            long status = CopyEngine.copy(cpu, d.bar(0), src, dst, 4096);
            assertThat(status).isEqualTo(CopyEngine.STATUS_FAULT);
            assertThat(cpu.readLong(d.bar(0).cpuAddress() + CopyEngine.REG_FAULT_ADDRESS)).isEqualTo(src);
            assertThat(cpu.readLong(dst)).isEqualTo(7);
            Fault f = m.faultLog().last();
            assertThat(f.device()).isEqualTo("legacy32");
            assertThat(f.busAddress()).isEqualTo(src);
            assertThat(f.access()).isEqualTo(DmaAccess.READ);
            assertThat(f.reason()).isEqualTo(FaultReason.OUT_OF_RANGE);
            assertThat(d.port().faultCount()).isEqualTo(1);
        }
    }

    @Test
    void aTranslationFaultMidwayStopsAtTheFaultingPage() {
        try (Machine m = Machine.createDefault()) {
            PhysicalAddressSpace cpu = m.addressSpace();
            Device d = m.device("dmatest0");
            long src = m.pageAllocator().allocPages(1);
            long dst = m.pageAllocator().allocPages(1);
            cpu.fill(src, 8192, (byte) 0x5A);
            // a translation that maps only the first destination page for writes
            Device.Control control = m.claimControl().device("dmatest0");
            control.attach(new DmaTranslation() {
                @Override
                public long translate(long bus, DmaAccess access) {
                    return access == DmaAccess.WRITE && bus >= dst + 4096 ? FaultReason.NOT_MAPPED.code() : bus;
                }

                @Override
                public String describe() {
                    return "test";
                }
            });
            long status = CopyEngine.copy(cpu, d.bar(0), src, dst, 8192);
            assertThat(status).isEqualTo(CopyEngine.STATUS_FAULT);
            assertThat(cpu.readLong(d.bar(0).cpuAddress() + CopyEngine.REG_FAULT_ADDRESS)).isEqualTo(dst + 4096);
            assertThat(cpu.readByte(dst + 4095)).isEqualTo((byte) 0x5A);
            assertThat(cpu.readByte(dst + 4096)).isZero();
            assertThat(m.faultLog().last().reason()).isEqualTo(FaultReason.NOT_MAPPED);
            control.detach();
            assertThat(CopyEngine.copy(cpu, d.bar(0), src, dst, 8192)).isEqualTo(CopyEngine.STATUS_DONE);
        }
    }

    @Test
    void aMachineAndItsDevicesHandOutTheirControlOnce() {
        try (Machine m = Machine.createDefault()) {
            assertThatThrownBy(() -> m.device("dmatest0").claimControl()).isInstanceOf(IllegalStateException.class)
                    .hasMessage("the control of device dmatest0 was claimed already (by the machine that built it)");
            m.claimControl();
            assertThatThrownBy(m::claimControl).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("was claimed already (a DmaRuntime that took this machine holds it)");
        }
    }

    @Test
    void unbackedPhysicalAddressesFault() {
        try (Machine m = Machine.createDefault()) {
            Device d = m.device("dmatest0");
            long dst = m.pageAllocator().allocPages(0);
            long hole = 0x9000_0000L; // between low DRAM (ends at 2 GiB) and the BARs (from 3 GiB)
            assertThat(CopyEngine.copy(m.addressSpace(), d.bar(0), hole, dst, 64)).isEqualTo(CopyEngine.STATUS_FAULT);
            assertThat(m.faultLog().last().reason()).isEqualTo(FaultReason.UNBACKED);
        }
    }

    @Test
    void twoThreadsSharingOneEngineGetWholeCopies() throws Exception {
        try (Machine m = Machine.createDefault()) {
            PhysicalAddressSpace cpu = m.addressSpace();
            Device d = m.device("dmatest0");
            int perThread = 20_000;
            long[] src = {m.pageAllocator().allocPages(0), m.pageAllocator().allocPages(0)};
            long[] dst = {m.pageAllocator().allocPages(0), m.pageAllocator().allocPages(0)};
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
            java.util.List<java.util.concurrent.Future<Integer>> wrong = new java.util.ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int me = t;
                wrong.add(pool.submit(() -> {
                    int bad = 0;
                    for (int i = 0; i < perThread; i++) {
                        cpu.writeLong(src[me], ((long) me << 32) | i);
                        CopyEngine.copy(cpu, d.bar(0), src[me], dst[me], 8); // identity translation: bus = phys
                        bad += cpu.readLong(dst[me]) == (((long) me << 32) | i) ? 0 : 1;
                    }
                    return bad;
                }));
            }
            assertThat(wrong.get(0).get() + wrong.get(1).get()).as("copies that moved another thread's bytes or none").isZero();
            pool.shutdown();
        }
    }
}
