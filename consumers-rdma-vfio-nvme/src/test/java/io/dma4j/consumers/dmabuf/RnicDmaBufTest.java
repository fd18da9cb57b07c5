package io.dma4j.consumers.dmabuf;

import io.dma4j.consumers.rdma.DmaBufMr;
import io.dma4j.consumers.rdma.RnicDriver;
import io.dma4j.devices.rnic.RnicModel;
import io.dma4j.hw.rnic.Rnic;
import io.dma4j.platform.Machine;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.testing.Bytes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The RNIC importing a dma-buf of the built-in machine's GPU-like device as a memory region
 * (mlx5's dynamic dma-buf MR): RDMA moves data between the GPU's memory and the remote peer by
 * bus address; an invalidate zaps the key before the mapping goes, so a request after a revoke
 * completes in error with no byte moved, and after a restore the buffer faults back in.
 */
class RnicDmaBufTest {
    private Machine machine;
    private DmaRuntime rt;
    private PhysicalAddressSpace cpu;
    private RnicDriver nic;
    private VfioBarExporter exporter;
    private final AtomicLong now = new AtomicLong();

    @BeforeEach
    void setUp() {
        machine = Machine.createDefault();
        cpu = machine.addressSpace();
        rt = DmaRuntime.builder().machine(machine).build();
        nic = new RnicDriver(rt.mapper("rnic0"), cpu);
        exporter = VfioBarExporter.export(machine.device("gpu0"), 2, new long[] {0}, new long[] {1 << 20}, () -> now.addAndGet(1_000_000),
                VfioBarExporter.DEFAULT_TIMEOUT_NS);
    }

    @AfterEach
    void tearDown() {
        nic.close();
        rt.close();
        machine.close();
    }

    private long gpu(long offset) {
        return machine.device("gpu0").bar(2).cpuAddress() + offset;
    }

    private MemorySegment remote() {
        return ((RnicModel) machine.device("rnic0").behaviour()).remoteMemory();
    }

    @Test
    void rdmaMovesDataBetweenGpuMemoryAndThePeerAndARevokeStopsIt() {
        DmaBufMr mr = nic.registerDmaBuf(exporter.buffer(), true, () -> now.addAndGet(1_000_000));
        Bytes.fill(cpu, gpu(0x3000), 0x2000, 9);
        assertThat(nic.rdmaWrite(mr, 0x3000, 0x1000, 0x2000, 1).status()).as("GPU memory -> remote peer").isEqualTo(Rnic.WC_SUCCESS);
        byte[] sent = remote().asSlice(0x1000, 0x2000).toArray(ValueLayout.JAVA_BYTE);
        assertThat(sent).isEqualTo(cpu.view(gpu(0x3000), 0x2000).toArray(ValueLayout.JAVA_BYTE));
        assertThat(nic.pageFaults()).as("one fault mapped the whole buffer").isEqualTo(1);
        assertThat(nic.rdmaRead(mr, 0x80000, 0x1000, 0x2000, 2).status()).as("remote peer -> GPU memory").isEqualTo(Rnic.WC_SUCCESS);
        assertThat(Bytes.mismatch(cpu, gpu(0x80000), 0x2000, 9)).isEqualTo(-1);
        assertThat(nic.pageFaults()).as("no fault: the table is present").isEqualTo(1);

        Bytes.fill(cpu, gpu(0xA0000), 0x1000, 4);
        assertThat(exporter.setMemoryDecode(false)).isEmpty();
        assertThat(mr.invalidations()).isEqualTo(1);
        assertThat(nic.rdmaRead(mr, 0xA0000, 0x1000, 0x1000, 3).status()).as("the zapped key faults, the fault cannot map: resumed in error")
                .isEqualTo(Rnic.WC_LOC_ACCESS_ERR);
        assertThat(Bytes.mismatch(cpu, gpu(0xA0000), 0x1000, 4)).as("no byte reached the revoked BAR").isEqualTo(-1);

        exporter.setMemoryDecode(true);
        assertThat(nic.rdmaRead(mr, 0xA0000, 0x1000, 0x1000, 4).status()).as("after the restore the buffer faults back in").isEqualTo(Rnic.WC_SUCCESS);
        assertThat(Bytes.mismatch(cpu, gpu(0xA0000), 0x1000, 9)).isEqualTo(-1);
        assertThat(mr.maps()).isEqualTo(2);
        mr.close();
        assertThat(exporter.buffer().attachments()).isEmpty();
        assertThat(machine.faultLog().count()).as("the NIC never touched the BAR while it was revoked").isZero();
    }

    @Test
    void aPinnedRegionThatCannotBeRevokedIsRefusedAndLeavesNothingBehind() {
        // mlx5's pinned dma-buf MR (ib_umem_dmabuf_get_pinned) is not revocable: VFIO refuses its pin
        assertThatThrownBy(() -> nic.registerDmaBufPinned(exporter.buffer(), true, () -> now.addAndGet(1_000_000)))
                .isInstanceOf(UnsupportedOperationException.class).hasMessage("-EOPNOTSUPP: rdma:rnic0 key 1 wants to pin gpu0.bar2 but cannot honour a revoke");
        assertThat(exporter.buffer().attachments()).isEmpty();
        long commands = ((RnicModel) machine.device("rnic0").behaviour()).commands();
        DmaBufMr mr = nic.registerDmaBuf(exporter.buffer(), true, () -> now.addAndGet(1_000_000));
        assertThat(((RnicModel) machine.device("rnic0").behaviour()).commands()).as("the refused one sent no CREATE_MKEY; this one sent one")
                .isEqualTo(commands + 1);
        assertThat(exporter.buffer().attachments()).hasSize(1);
        mr.close();
    }

    @Test
    void theNvmeControllersCmbExportsLikeAnyMemoryBar() {
        VfioBarExporter cmb = VfioBarExporter.export(machine.device("nvme0"), 2, new long[] {0x10000}, new long[] {0x4000}, () -> now.addAndGet(1_000_000),
                VfioBarExporter.DEFAULT_TIMEOUT_NS);
        DmaBufMr mr = nic.registerDmaBuf(cmb.buffer(), true, () -> now.addAndGet(1_000_000));
        long at = machine.device("nvme0").bar(2).cpuAddress() + 0x10000;
        Bytes.fill(cpu, at, 0x4000, 21);
        assertThat(nic.rdmaWrite(mr, 0, 0, 0x4000, 1).status()).as("CMB -> remote peer, by bus address below sw0").isEqualTo(Rnic.WC_SUCCESS);
        assertThat(remote().asSlice(0, 0x4000).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(cpu.view(at, 0x4000).toArray(ValueLayout.JAVA_BYTE));
        mr.close();
        cmb.close();
    }
}
