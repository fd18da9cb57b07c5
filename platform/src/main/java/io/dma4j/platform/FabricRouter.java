package io.dma4j.platform;

import io.dma4j.platform.pci.HostBridges;

import io.dma4j.platform.device.Device;
import io.dma4j.platform.device.FaultReason;
import io.dma4j.platform.device.PeerRouter;
import io.dma4j.platform.pci.Bar;
import io.dma4j.platform.pci.PciNode;
import io.dma4j.platform.pci.PciPath;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The machine's peer routing: which memory BARs a device reaches at the switch, and which
 * the host bridge lets it reach from above. Thread-safe (immutable lists, volatile device state).
 */
final class FabricRouter implements PeerRouter {
    private record MemoryBar(Device owner, Bar bar) {
    }

    private final Map<String, Device> devices;
    private final Cpu cpu;
    private final List<MemoryBar> bars = new ArrayList<>();

    FabricRouter(Map<String, Device> devices, Cpu cpu) {
        this.devices = devices;
        this.cpu = cpu;
        for (Device d : devices.values()) {
            for (Bar b : d.bars()) {
                if (b.kind() == Bar.Kind.MEMORY) {
                    bars.add(new MemoryBar(d, b));
                }
            }
        }
    }

    @Override
    public long belowSwitch(String device, long bus) {
        for (int i = 0; i < bars.size(); i++) {
            MemoryBar mb = bars.get(i);
            if (!mb.bar.containsBus(bus)) {
                continue;
            }
            if (mb.owner.name().equals(device)) { // a device reaches its own memory BAR internally
                return mb.owner.removed() ? -1 : mb.bar.cpuAddress() + (bus - mb.bar.busAddress());
            }
            Device from = devices.get(device);
            if (from.slot() == null || mb.owner.slot() == null || from.removed() || mb.owner.removed()) {
                continue;
            }
            if (PciPath.between(mb.owner.slot(), from.slot()).staysBelowSwitch()) {
                return mb.bar.cpuAddress() + (bus - mb.bar.busAddress());
            }
            // another hierarchy may use the same bus addresses: keep looking
        }
        return -1;
    }

    @Override
    public FaultReason claimed(long phys) {
        for (int i = 0; i < bars.size(); i++) {
            MemoryBar mb = bars.get(i);
            if (mb.bar.containsCpu(phys)) {
                return mb.owner.memoryDecode() ? null : FaultReason.DECODE_OFF;
            }
        }
        return null;
    }

    @Override
    public FaultReason upstream(String device, long phys) {
        Device from = devices.get(device);
        if (from.removed()) {
            return FaultReason.REMOVED;
        }
        for (int i = 0; i < bars.size(); i++) {
            MemoryBar mb = bars.get(i);
            if (!mb.bar.containsCpu(phys) || mb.owner == from) {
                continue;
            }
            if (mb.owner.removed()) {
                return FaultReason.REMOVED;
            }
            if (from.slot() == null || mb.owner.slot() == null) {
                return FaultReason.P2P_BLOCKED;
            }
            return HostBridges.routes(cpu, from.slot().hostBridge(), mb.owner.slot().hostBridge()) ? null : FaultReason.P2P_BLOCKED;
        }
        return null;
    }
}
