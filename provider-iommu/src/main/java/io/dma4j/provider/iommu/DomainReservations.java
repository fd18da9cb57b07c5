package io.dma4j.provider.iommu;

import io.dma4j.platform.IommuUnit;
import io.dma4j.platform.Machine;
import io.dma4j.platform.ReservedRegion;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.pci.Bar;
import io.dma4j.platform.pci.PciNode;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The reserved regions of a new DMA domain, gathered as {@code iova_reserve_iommu_regions}
 * (drivers/iommu/dma-iommu.c, v6.16) gathers them for the device the domain is first set up
 * for:
 * <ol>
 * <li>{@code iova_reserve_pci_windows}: the memory windows of the device's host bridge, as
 *     bus addresses. The model has no firmware window list; the window is taken to be the
 *     BARs of every device below that host bridge (each BAR's bus range, adjacent ones
 *     merged), which is what a window must cover;</li>
 * <li>{@code iommu_get_resv_regions}: for the x86 page-table formats the hardware MSI window
 *     {@code 0xFEE00000-0xFEEFFFFF} ({@code IOAPIC_RANGE_START..END}, as
 *     {@code intel_iommu_get_resv_regions} reports it, type {@code IOMMU_RESV_MSI}), then the
 *     regions the IOMMU unit's description declares. A software MSI window is listed but not
 *     reserved: dma-iommu allocates MSI doorbell pages from the IOVA space itself.</li>
 * </ol>
 */
final class DomainReservations {
    /** {@code IOAPIC_RANGE_START}: x86's MSI address window. */
    static final long X86_MSI_START = 0xFEE0_0000L;
    /** {@code IOAPIC_RANGE_END}. */
    static final long X86_MSI_END = 0xFEEF_FFFFL;

    private DomainReservations() {
    }

    static List<ReservedRegion> of(Machine machine, Device device, PageTableFormat format) {
        List<ReservedRegion> out = new ArrayList<>(pciWindows(machine, device));
        if (format.x86()) {
            out.add(new ReservedRegion(X86_MSI_START, X86_MSI_END, ReservedRegion.Type.MSI));
        }
        IommuUnit unit = machine.iommuOf(device);
        if (unit != null) {
            out.addAll(unit.reservedRegions());
        }
        out.sort(Comparator.comparingLong(ReservedRegion::start));
        return out;
    }

    private static List<ReservedRegion> pciWindows(Machine machine, Device device) {
        if (device.slot() == null) {
            return List.of(); // a platform device: dev_is_pci() is false
        }
        PciNode bridge = device.slot().hostBridge();
        List<Bar> bars = new ArrayList<>();
        for (Device d : machine.devices()) {
            if (d.slot() != null && d.slot().hostBridge() == bridge) {
                bars.addAll(d.bars());
            }
        }
        bars.sort(Comparator.comparingLong(Bar::busAddress));
        List<ReservedRegion> out = new ArrayList<>();
        long start = -1;
        long end = -1;
        for (Bar b : bars) {
            long last = b.busAddress() + b.size() - 1;
            if (start >= 0 && b.busAddress() <= end + 1) {
                end = Math.max(end, last);
                continue;
            }
            if (start >= 0) {
                out.add(new ReservedRegion(start, end, ReservedRegion.Type.PCI_WINDOW));
            }
            start = b.busAddress();
            end = last;
        }
        if (start >= 0) {
            out.add(new ReservedRegion(start, end, ReservedRegion.Type.PCI_WINDOW));
        }
        return out;
    }
}
