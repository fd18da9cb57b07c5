package io.dma4j.consumers.dmabuf;

import io.dma4j.api.DmaMapper;
import io.dma4j.consumers.nvme.NvmeDriver;
import io.dma4j.hw.nvme.Nvme;
import io.dma4j.platform.Machine;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.device.FaultReason;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.testing.Bytes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The NVMe driver importing a dma-buf of the built-in machine's GPU-like device: data moves
 * between the namespace and the GPU's memory BAR with no CPU copy and no DRAM in between (the
 * controller and the GPU sit below one switch, so the addresses are bus addresses); a revoke
 * cuts the controller off, and a restore lets it map again.
 */
class NvmeDmaBufTest {
    private Machine machine;
    private DmaRuntime rt;
    private PhysicalAddressSpace cpu;
    private NvmeDriver nvme;
    private VfioBarExporter exporter;
    private NvmeDmaBufImporter importer;
    private final AtomicLong now = new AtomicLong();

    @BeforeEach
    void setUp() {
        machine = Machine.createDefault();
        cpu = machine.addressSpace();
        rt = DmaRuntime.builder().machine(machine).build();
        DmaMapper controller = rt.mapper("nvme0");
        nvme = new NvmeDriver(controller, cpu);
        Device gpu = machine.device("gpu0");
        exporter = VfioBarExporter.export(gpu, 2, new long[] {0}, new long[] {1 << 20}, () -> now.addAndGet(1_000_000), VfioBarExporter.DEFAULT_TIMEOUT_NS);
        importer = new NvmeDmaBufImporter(nvme, exporter.buffer(), controller, () -> now.addAndGet(1_000_000));
    }

    @AfterEach
    void tearDown() {
        importer.close();
        nvme.close();
        rt.close();
        machine.close();
    }

    private long gpu(long offset) {
        return machine.device("gpu0").bar(2).cpuAddress() + offset;
    }

    @Test
    void theControllerMovesDataBetweenItsNamespaceAndTheGpuMemoryPeerToPeer() {
        Bytes.fill(cpu, gpu(0x10000), 64 * 1024, 7);
        assertThat(importer.write(100, 0x10000, 64 * 1024)).as("GPU memory -> namespace").isEqualTo(Nvme.SC_SUCCESS);
        assertThat(importer.read(100, 0x80000, 64 * 1024)).as("namespace -> another part of the GPU memory").isEqualTo(Nvme.SC_SUCCESS);
        assertThat(Bytes.mismatch(cpu, gpu(0x80000), 64 * 1024, 7)).isEqualTo(-1);
        // the namespace holds the bytes too: an ordinary read into DRAM
        long dram = machine.pageAllocator().allocPages(4);
        assertThat(nvme.read(100, new long[] {dram}, new long[] {64 * 1024}, 1)).isZero();
        assertThat(Bytes.mismatch(cpu, dram, 64 * 1024, 7)).isEqualTo(-1);
        assertThat(importer.maps()).as("one mapping for both commands").isEqualTo(1);
        assertThat(machine.faultLog().count()).isZero();
    }

    @Test
    void aRevokeCutsTheControllerOffAndARestoreLetsItMapAgain() {
        Bytes.fill(cpu, gpu(0), 4096, 1);
        assertThat(importer.write(8, 0, 4096)).isEqualTo(Nvme.SC_SUCCESS);
        Bytes.fill(cpu, gpu(0x2000), 4096, 2); // what the revoked BAR holds; nothing may change it
        assertThat(exporter.setMemoryDecode(false)).isEmpty();
        assertThat(importer.invalidations()).isEqualTo(1);
        assertThat(importer.read(8, 0x2000, 4096)).as("the importer is refused while revoked").isEqualTo(NvmeDmaBufImporter.REVOKED);
        // a controller still programmed with the old bus address meets a BAR that decodes nothing
        long stale = gpu(0x2000) - machine.device("gpu0").bar(2).cpuAddress() + machine.device("gpu0").bar(2).busAddress();
        assertThat(nvme.readMapped(8, new long[] {stale}, new long[] {4096}, 1)).isEqualTo(Nvme.SC_DATA_TRANSFER_ERROR);
        assertThat(machine.faultLog().last().reason()).isEqualTo(FaultReason.DECODE_OFF);
        assertThat(Bytes.mismatch(cpu, gpu(0x2000), 4096, 2)).as("no byte reached the revoked BAR").isEqualTo(-1);
        exporter.setMemoryDecode(true);
        assertThat(importer.read(8, 0x2000, 4096)).as("mapped again after the restore").isEqualTo(Nvme.SC_SUCCESS);
        assertThat(Bytes.mismatch(cpu, gpu(0x2000), 4096, 1)).isEqualTo(-1);
        assertThat(importer.maps()).isEqualTo(2);
    }
}
