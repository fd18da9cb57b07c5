package io.dma4j.cli;

import io.dma4j.platform.ByteSize;
import io.dma4j.platform.IommuUnit;
import io.dma4j.platform.Machine;
import io.dma4j.platform.ReservedRegion;
import io.dma4j.platform.device.DmaTranslation;
import io.dma4j.platform.device.Device;
import io.dma4j.platform.memory.Region;
import io.dma4j.platform.pci.Bar;
import io.dma4j.platform.pci.PciNode;
import io.dma4j.runtime.DmaRuntime;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code dmactl machine}: memory, IOMMU units, the PCI fabric as a tree and the device table. */
@Command(name = "machine", mixinStandardHelpOptions = true, description = "Prints the machine: memory, IOMMU units, PCI fabric and devices with their backends.")
final class MachineCommand implements Runnable {
    @Mixin
    RuntimeOptions options;

    @Option(names = "--json", description = "Print JSON instead of text.")
    boolean json;

    @Option(names = "--p2p", description = "Also print the peer-to-peer matrix: how each client reaches each device's memory BARs, and the distance.")
    boolean p2p;

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        try (DmaRuntime rt = options.runtime(Map.of())) {
            Machine m = rt.machine();
            for (var d : m.devices()) {
                rt.backendFor(d.name()); // configuration problems surface before anything is printed
            }
            for (var d : m.devices()) {
                rt.mapper(d.name()); // attaches the backend's translation (an IOMMU domain per group)
            }
            if (json) {
                Map<String, Object> root = asMap(rt);
                if (p2p) {
                    root.put("p2p", rt.p2pClassifier() == null ? List.of() : p2pMatrix(rt, new ArrayList<>()));
                }
                out.println(Json.write(root));
                out.flush();
                return;
            }
            out.println("machine " + m.name() + " (" + m.description().source() + ")");
            List<String> dram = new ArrayList<>();
            for (Region r : m.addressSpace().dram()) {
                dram.add(String.format("[0x%x-0x%x) %s", r.base(), r.end(), ByteSize.format(r.size())));
            }
            out.println("  DRAM       " + String.join(", ", dram) + "  (" + ByteSize.format(m.addressSpace().dramSize()) + " in all)");
            out.println("  encrypted  " + (m.encryptedMemory() ? "yes: every streaming mapping bounces" : "no"));
            List<String> units = new ArrayList<>();
            for (IommuUnit u : m.iommus()) {
                units.add(u.name() + (u.translating() ? " (translating)" : " (identity)"));
            }
            out.println("  IOMMUs     " + (units.isEmpty() ? "none" : String.join(", ", units)));
            if (!m.cpu().equals(io.dma4j.platform.Cpu.UNKNOWN)) {
                out.println("  CPU        " + m.cpu());
            }
            out.println("fabric");
            for (PciNode hb : m.fabric().hostBridges()) {
                tree(out, hb, "  ");
            }
            out.println("devices");
            TextTable t = new TextTable("NAME", "BDF", "MODEL", "PORT", "DMA-MASK", "COHERENT", "UNTRUSTED", "IOMMU", "GROUP", "BACKEND", "BARS");
            TextTable domains = new TextTable("DEVICE", "TRANSLATION (device side)");
            for (Device d : m.devices()) {
                t.row(d.name(), d.slot() == null ? "-" : d.slot().shortBdf(), d.model() + (passive(d) ? "*" : ""), d.slot() == null ? "-" : d.slot().parent().name(),
                        bits(d.dmaMask()), d.attributes().coherent() ? "yes" : "no", d.attributes().untrusted() ? "yes" : "no",
                        d.iommu() == null ? "-" : d.iommu(), d.iommuGroup() < 0 ? "-" : d.iommuGroup(), rt.backendFor(d.name()).name(), bars(d));
                domains.row(d.name(), d.port().translation().describe());
            }
            t.print(out);
            boolean passive = false;
            for (Device d : m.devices()) {
                passive |= passive(d);
            }
            if (passive) {
                out.println("* no device model loaded for this model name: the device's BARs are passive");
            }
            out.println("translations");
            domains.print(out);
            printReserved(out, m);
            if (p2p) {
                printP2p(out, rt);
            }
            out.flush();
        }
    }

    /** Each DMA domain's reserved regions, once per domain (the devices of a group share it). */
    private static Map<DmaTranslation, List<String>> domainsWithReservations(Machine m) {
        Map<DmaTranslation, List<String>> out = new LinkedHashMap<>();
        for (Device d : m.devices()) {
            DmaTranslation t = d.port().translation();
            if (!t.reservedRegions().isEmpty()) {
                out.computeIfAbsent(t, k -> new ArrayList<>()).add(d.name());
            }
        }
        return out;
    }

    private static void printReserved(PrintWriter out, Machine m) {
        Map<DmaTranslation, List<String>> domains = domainsWithReservations(m);
        if (domains.isEmpty()) {
            return;
        }
        out.println("reserved IOVA regions (never handed out by the domain's IOVA allocator; sw-msi is listed, not reserved)");
        TextTable t = new TextTable("DOMAIN", "DEVICES", "START", "END", "SIZE", "TYPE");
        for (Map.Entry<DmaTranslation, List<String>> e : domains.entrySet()) {
            boolean first = true;
            for (ReservedRegion r : e.getKey().reservedRegions()) {
                t.row(first ? e.getKey().describe() : "", first ? String.join(",", e.getValue()) : "", String.format("0x%x", r.start()),
                        String.format("0x%x", r.end()), ByteSize.format(r.end() - r.start() + 1), r.type().jsonName());
                first = false;
            }
        }
        t.print(out);
    }

    /** How one client reaches one provider's memory BAR. */
    private record P2pPair(String client, String provider, String mapType, int distance, String why) {
    }

    /** The devices with a memory BAR, and every client's map type and distance to each ({@code pci_p2pdma_distance}). */
    private static List<P2pPair> p2pMatrix(DmaRuntime rt, List<Device> providers) {
        Machine m = rt.machine();
        io.dma4j.spi.P2pClassifier c = rt.p2pClassifier();
        io.dma4j.api.PeerMemoryAllocator pm = rt.peerMemory();
        for (Device d : m.devices()) {
            for (Bar b : d.bars()) {
                if (b.kind() == Bar.Kind.MEMORY && !providers.contains(d)) {
                    providers.add(d);
                }
            }
        }
        List<P2pPair> pairs = new ArrayList<>();
        if (c == null) {
            return pairs;
        }
        for (Device client : m.devices()) {
            for (Device p : providers) {
                if (p == client) {
                    continue;
                }
                Bar bar = null;
                for (Bar b : p.bars()) {
                    if (b.kind() == Bar.Kind.MEMORY) {
                        bar = b;
                    }
                }
                pairs.add(new P2pPair(client.name(), p.name(), c.classify(client, bar).name(), pm == null ? -1 : pm.distance(p, List.of(client)),
                        c.explain(client, bar)));
            }
        }
        return pairs;
    }

    private static void printP2p(PrintWriter out, DmaRuntime rt) {
        out.println("peer-to-peer (client row -> provider column: map type/distance; x = not supported)");
        if (rt.p2pClassifier() == null) {
            out.println("  no P2P provider is installed: every peer address is NOT_SUPPORTED");
            return;
        }
        List<Device> providers = new ArrayList<>();
        List<P2pPair> pairs = p2pMatrix(rt, providers);
        List<String> header = new ArrayList<>();
        header.add("CLIENT");
        for (Device p : providers) {
            header.add(p.name());
        }
        TextTable t = new TextTable(header.toArray(String[]::new));
        for (Device client : rt.machine().devices()) {
            List<Object> row = new ArrayList<>();
            row.add(client.name());
            for (Device p : providers) {
                String cell = "self";
                for (P2pPair pair : pairs) {
                    if (pair.client().equals(client.name()) && pair.provider().equals(p.name())) {
                        cell = switch (pair.mapType()) {
                            case "BUS_ADDR" -> "bus/" + pair.distance();
                            case "THRU_HOST_BRIDGE" -> "host-bridge/" + pair.distance();
                            default -> "x";
                        };
                    }
                }
                row.add(cell);
            }
            t.row(row.toArray());
        }
        t.print(out);
    }

    /** A device whose model name has no device model ("generic" devices are passive by definition). */
    private static boolean passive(Device d) {
        return d.behaviour() == null && !d.model().equals("generic");
    }

    private static void tree(PrintWriter out, PciNode n, String indent) {
        String extra = switch (n.kind()) {
            case HOST_BRIDGE -> ", p2p forwarding " + (n.p2pForwarding() ? "on" : "off") + (n.busOffset() != 0 ? String.format(", bus offset 0x%x", n.busOffset()) : "")
                    + (n.vendorId() >= 0 ? String.format(", %04x:%04x", n.vendorId(), n.deviceId()) : "");
            case ENDPOINT -> (n.physfn() != null ? ", VF " + n.vfIndex() + " of " + n.physfn().name() : "")
                    + (n.parent().kind() == PciNode.Kind.HOST_BRIDGE ? ", root-complex integrated" : "");
            default -> "";
        };
        String acs = n.acs().bits();
        out.println(indent + n.name() + " (" + n.kind().jsonName() + ", " + (n.kind() == PciNode.Kind.HOST_BRIDGE ? "domain " + n.bdf().substring(0, 4) : n.shortBdf())
                + extra + (acs.isEmpty() ? "" : ", ACS " + acs + (n.acs().redirects() ? " (redirect)" : "")) + ")");
        for (PciNode c : n.children()) {
            tree(out, c, indent + "  ");
        }
    }

    private static String bits(long mask) {
        return (64 - Long.numberOfLeadingZeros(mask)) + "-bit";
    }

    private static String bars(Device d) {
        List<String> out = new ArrayList<>();
        for (Bar b : d.bars()) {
            out.add(String.format("%d:%s@0x%x/%s", b.index(), b.kind() == Bar.Kind.MEMORY ? "mem" : "regs", b.cpuAddress(), ByteSize.format(b.size()).replace(" ", "")));
        }
        return out.isEmpty() ? "-" : String.join(" ", out);
    }

    private static Map<String, Object> asMap(DmaRuntime rt) {
        Machine m = rt.machine();
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("name", m.name());
        root.put("source", m.description().source());
        List<Map<String, Object>> dram = new ArrayList<>();
        for (Region r : m.addressSpace().dram()) {
            dram.add(Map.of("base", r.base(), "size", r.size()));
        }
        root.put("dram", dram);
        root.put("encryptedMemory", m.encryptedMemory());
        root.put("iommus", m.iommus());
        root.put("cpu", m.cpu());
        List<Map<String, Object>> fabric = new ArrayList<>();
        for (PciNode n : m.fabric().nodes()) {
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("name", n.name());
            f.put("type", n.kind().jsonName());
            f.put("parent", n.parent() == null ? null : n.parent().name());
            f.put("bdf", n.bdf());
            f.put("acs", n.acs().bits());
            f.put("acsRedirect", n.acs().redirects());
            if (n.kind() == PciNode.Kind.HOST_BRIDGE) {
                f.put("p2pForwarding", n.p2pForwarding());
                f.put("busOffset", n.busOffset());
                f.put("vendorId", n.vendorId());
                f.put("deviceId", n.deviceId());
            }
            if (n.physfn() != null) {
                f.put("physfn", n.physfn().name());
                f.put("vf", n.vfIndex());
            }
            fabric.add(f);
        }
        root.put("fabric", fabric);
        List<Map<String, Object>> devices = new ArrayList<>();
        for (Device d : m.devices()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("name", d.name());
            e.put("model", d.model());
            e.put("bdf", d.slot() == null ? null : d.slot().bdf());
            e.put("port", d.slot() == null ? null : d.slot().parent().name());
            e.put("modelLoaded", d.behaviour() != null);
            e.put("dmaBits", 64 - Long.numberOfLeadingZeros(d.dmaMask()));
            e.put("dmaMask", String.format("0x%x", d.dmaMask()));
            e.put("coherent", d.attributes().coherent());
            e.put("untrusted", d.attributes().untrusted());
            e.put("iommu", d.iommu());
            e.put("iommuGroup", d.iommuGroup());
            e.put("backend", rt.backendFor(d.name()).name());
            e.put("bars", d.bars());
            e.put("translation", d.port().translation().describe());
            devices.add(e);
        }
        root.put("devices", devices);
        List<Map<String, Object>> domains = new ArrayList<>();
        for (Map.Entry<DmaTranslation, List<String>> e : domainsWithReservations(m).entrySet()) {
            List<Map<String, Object>> regions = new ArrayList<>();
            for (ReservedRegion r : e.getKey().reservedRegions()) {
                Map<String, Object> reg = new LinkedHashMap<>();
                reg.put("start", r.start());
                reg.put("end", r.end());
                reg.put("type", r.type().jsonName());
                reg.put("reserved", r.reservedInDmaDomain());
                regions.add(reg);
            }
            Map<String, Object> dom = new LinkedHashMap<>();
            dom.put("translation", e.getKey().describe());
            dom.put("devices", e.getValue());
            dom.put("reservedRegions", regions);
            domains.add(dom);
        }
        root.put("domains", domains);
        return root;
    }
}
