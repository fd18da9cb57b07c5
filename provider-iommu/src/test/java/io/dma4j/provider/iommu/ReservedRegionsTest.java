package io.dma4j.provider.iommu;

import io.dma4j.api.DmaMapper;
import io.dma4j.api.IovaState;
import io.dma4j.platform.Machine;
import io.dma4j.platform.ReservedRegion;
import io.dma4j.platform.description.MachineDescriptionParser;
import io.dma4j.platform.device.CopyEngine;
import io.dma4j.platform.device.Fault;
import io.dma4j.platform.device.FaultReason;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.dma4j.api.DmaDirection.TO_DEVICE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reserved IOVA regions, as {@code iova_reserve_iommu_regions} (drivers/iommu/dma-iommu.c,
 * v6.16) sets them up when a DMA domain is initialised: the host bridge's memory windows
 * ({@code iova_reserve_pci_windows}, bus addresses), the x86 MSI window
 * ({@code intel_iommu_get_resv_regions}: {@code IOAPIC_RANGE_START..END} =
 * {@code 0xFEE00000..0xFEEFFFFF}, {@code IOMMU_RESV_MSI}) and the unit's own regions, except a
 * software MSI window, which the DMA domain manages itself and does not reserve.
 */
class ReservedRegionsTest {
    /** A 32-bit copy engine behind the IOMMU, beside a device with BARs below 4 GiB, on one host bridge. */
    private static final String LAB = """
            { "name": "resv-lab",
              "memory": [ {"base": "1MiB", "size": "255MiB"} ],
              "iommus": [ {"name": "smmu0", "reservedRegions": [
                  {"base": "0x8000000", "size": "1MiB", "type": "sw-msi"},
                  {"base": "0x40000000", "size": "2MiB", "type": "reserved"} ]} ],
              "fabric": [ {"name": "hb0", "type": "host-bridge"},
                          {"name": "rp0", "type": "root-port", "parent": "hb0"},
                          {"name": "rp1", "type": "root-port", "parent": "hb0"} ],
              "devices": [
                {"name": "ce32", "model": "copy-engine", "port": "rp0", "dmaBits": 32, "iommu": "smmu0",
                 "bars": [ {"index": 0, "kind": "registers", "address": "0xc0000000", "size": "4KiB"} ]},
                {"name": "peer", "model": "nvme", "port": "rp1",
                 "bars": [ {"index": 0, "kind": "registers", "address": "0xc0001000", "size": "4KiB"},
                           {"index": 2, "kind": "memory", "address": "0xd0000000", "size": "64MiB"} ]} ] }
            """;

    private Machine machine;
    private DmaRuntime rt;

    private DmaMapper setUp(String format) {
        machine = Machine.create(MachineDescriptionParser.parse(LAB, "resv-lab.json"));
        rt = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(Map.of("dma4j.iommu.mode", "strict", "dma4j.iommu.format", format))).build();
        return rt.mapper("ce32");
    }

    @AfterEach
    void close() {
        if (rt != null) {
            rt.close();
        }
        if (machine != null) {
            machine.close();
        }
    }

    private IommuDomain domain() {
        return (IommuDomain) machine.device("ce32").port().translation();
    }

    @Test
    void theDomainReservesTheHostBridgeWindowsAndTheX86MsiWindow() {
        setUp("x86-64");
        assertThat(domain().reservedRegions()).containsExactly(
                new ReservedRegion(0x800_0000L, 0x80f_ffffL, ReservedRegion.Type.SW_MSI),
                new ReservedRegion(0x4000_0000L, 0x401f_ffffL, ReservedRegion.Type.RESERVED),
                new ReservedRegion(0xc000_0000L, 0xc000_1fffL, ReservedRegion.Type.PCI_WINDOW), // ce32's BAR and peer's, adjacent: merged
                new ReservedRegion(0xd000_0000L, 0xd3ff_ffffL, ReservedRegion.Type.PCI_WINDOW),
                new ReservedRegion(0xfee0_0000L, 0xfeef_ffffL, ReservedRegion.Type.MSI));
        // reserve_iova's pfn ranges: everything but the software MSI window
        assertThat(domain().iova().reservedRanges()).containsExactly(
                Map.entry(0x4_0000L, 0x4_01ffL), Map.entry(0xc_0000L, 0xc_0001L), Map.entry(0xd_0000L, 0xd_3fffL), Map.entry(0xf_ee00L, 0xf_eeffL));
    }

    @Test
    void anArmFormatHasNoFixedMsiWindowAndStillSkipsTheSoftwareOne() {
        setUp("arm-lpae-4k");
        assertThat(domain().reservedRegions()).extracting(ReservedRegion::type).doesNotContain(ReservedRegion.Type.MSI);
        assertThat(domain().iova().reservedRanges()).containsExactly(
                Map.entry(0x4_0000L, 0x4_01ffL), Map.entry(0xc_0000L, 0xc_0001L), Map.entry(0xd_0000L, 0xd_3fffL));
    }

    @Test
    void aThirtyTwoBitDomainRunToExhaustionNeverHandsOutAReservedIova() {
        DmaMapper m = setUp("x86-64");
        List<IovaState> states = new ArrayList<>();
        long granules = 0;
        for (long size = 256L << 20; size >= 4096; size >>= 1) { // largest first, then fill every hole that is left
            while (true) {
                IovaState s = new IovaState();
                if (!m.iovaTryAlloc(s, 0x10_0000L, size)) {
                    break;
                }
                states.add(s);
                granules += size >>> 12;
            }
        }
        for (IovaState s : states) {
            long first = s.addr();
            long last = s.addr() + s.size() - 1;
            assertThat(last).as("below the 32-bit mask").isLessThanOrEqualTo(0xffff_ffffL);
            for (ReservedRegion r : domain().reservedRegions()) {
                if (r.reservedInDmaDomain()) {
                    assertThat(last < r.start() || first > r.end()).as("IOVA [0x%x, 0x%x] against %s", first, last, r).isTrue();
                }
            }
        }
        long reservedGranules = 0x200 + 2 + 0x4000 + 0x100;
        assertThat(granules).as("every granule of pfn 1..0xfffff that is not reserved was handed out").isEqualTo(0xfffffL - reservedGranules);
        assertThat(states).anySatisfy(s -> assertThat(s.addr()).as("the sw-msi window is ordinary IOVA space").isBetween(0x800_0000L, 0x80f_ffffL));
        for (IovaState s : states) {
            m.iovaFree(s);
        }
    }

    @Test
    void aDeviceDmaToTheMsiWindowFaultsAsReserved() {
        DmaMapper m = setUp("x86-64");
        long src = machine.pageAllocator().allocPages(0);
        long s = m.mapPhys(src, 4096, TO_DEVICE, 0);
        assertThat(CopyEngine.copy(machine.addressSpace(), machine.device("ce32").bar(0), 0xfee0_0000L, s, 64))
                .as("the engine reads the MSI window").isEqualTo(CopyEngine.STATUS_FAULT);
        Fault f = machine.faultLog().last();
        assertThat(f.device()).isEqualTo("ce32");
        assertThat(f.busAddress()).isEqualTo(0xfee0_0000L);
        assertThat(f.reason()).isEqualTo(FaultReason.RESERVED);
        assertThat(CopyEngine.copy(machine.addressSpace(), machine.device("ce32").bar(0), 0x7000_0000L, s, 64))
                .as("an unreserved, unmapped IOVA").isEqualTo(CopyEngine.STATUS_FAULT);
        assertThat(machine.faultLog().last().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        m.unmapPhys(s, 4096, TO_DEVICE, 0);
    }
}
