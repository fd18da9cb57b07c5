package io.dma4j.platform.description;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dma4j.platform.Cpu;
import io.dma4j.platform.IommuUnit;
import io.dma4j.platform.ReservedRegion;
import io.dma4j.platform.description.MachineDescription.BarSpec;
import io.dma4j.platform.description.MachineDescription.DeviceSpec;
import io.dma4j.platform.description.MachineDescription.FabricNode;
import io.dma4j.platform.description.MachineDescription.MemoryRange;
import io.dma4j.platform.device.DeviceAttributes;
import io.dma4j.platform.pci.Acs;
import io.dma4j.platform.pci.Bar;
import io.dma4j.platform.pci.PciNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads and validates machine descriptions (JSON). Every problem is reported as a
 * {@link MachineDescriptionException} naming the file, the JSON path and what is wrong;
 * a description that parses is complete and consistent.
 *
 * <p>The format (sizes and addresses are integers or strings like "4GiB", "0xfe000000"):
 * <pre>{@code
 * { "name": "lab", "description": "free text",
 *   "memory": [ {"base": "1MiB", "size": "2047MiB"}, {"base": "4GiB", "size": "1TiB"} ],
 *   "encryptedMemory": false,
 *   "iommus": [ {"name": "dmar0", "translating": true} ],
 *   // an Arm SMMU would add: "reservedRegions": [ {"base": "0x8000000", "size": "1MiB", "type": "sw-msi"} ]
 *   "fabric": [ {"name": "hb0", "type": "host-bridge", "p2pForwarding": false, "busOffset": 0},
 *               {"name": "rp0", "type": "root-port", "parent": "hb0"},
 *               {"name": "sw0", "type": "switch-upstream", "parent": "rp0"},
 *               {"name": "sw0.dp0", "type": "switch-downstream", "parent": "sw0",
 *                "acs": {"requestRedirect": true, "completionRedirect": true}} ],
 *   "devices": [ {"name": "nvme0", "model": "nvme", "port": "sw0.dp0", "dmaBits": 64,
 *                 "iommu": "dmar0", "minAlignMask": "0xfff",
 *                 "bars": [ {"index": 0, "kind": "registers", "address": "0xc0000000", "size": "16KiB"} ]} ] }
 * }</pre>
 * Device fields and defaults: {@code model} "generic", {@code port} none (a platform
 * device), {@code dmaBits} 64, {@code coherentBits} = dmaBits, {@code coherent} true,
 * {@code untrusted} false, {@code iommu} none, {@code iommuGroup} automatic,
 * {@code rangeOffset} 0, {@code maxSegmentSize} 64KiB, {@code segmentBoundaryMask}
 * "none", {@code minAlignMask} 0.
 *
 * <p>Thread safety: stateless; safe for concurrent use.
 */
public final class MachineDescriptionParser {
    /** The source name of the built-in description. */
    public static final String DEFAULT_SOURCE = "built-in default";
    private static final String DEFAULT_RESOURCE = "default-machine.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.ALLOW_COMMENTS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION) // a repeated key is refused, not "last wins"
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private MachineDescriptionParser() {
    }

    /** The built-in default machine (see the README's "Machine" section). */
    public static MachineDescription defaultDescription() {
        return parse(defaultJson(), DEFAULT_SOURCE);
    }

    /** The JSON text of the built-in default machine: a starting point for descriptions of your own. */
    public static String defaultJson() {
        try (InputStream in = MachineDescriptionParser.class.getResourceAsStream(DEFAULT_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource " + DEFAULT_RESOURCE + " missing from the platform jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Reads a description file.
     *
     * @throws MachineDescriptionException if the file cannot be read or is not a valid description
     */
    public static MachineDescription parse(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new MachineDescriptionException(file.toString(), "$", "cannot read the file: " + e);
        }
        return parse(text, file.toString());
    }

    /**
     * Parses a description.
     *
     * @param json   the JSON text
     * @param source the name used in error messages (usually the file name)
     * @throws MachineDescriptionException if it is not valid
     */
    public static MachineDescription parse(String json, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            String path = "$";
            if (e.getProcessor() instanceof JsonParser p && p.getParsingContext() != null) {
                path = jsonPath(p.getParsingContext());
            }
            throw new MachineDescriptionException(source, path, "not valid JSON" + (loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr())
                    + ": " + e.getOriginalMessage());
        }
        if (root == null || root.isMissingNode()) {
            throw new MachineDescriptionException(source, "$", "empty document");
        }
        return new MachineDescriptionParser.Reader(new JsonCursor(root, "$", source)).read();
    }

    /** The "$.a.b[2]" path of a parser context (the object or array holding the offending token). */
    private static String jsonPath(com.fasterxml.jackson.core.JsonStreamContext ctx) {
        java.util.ArrayDeque<String> parts = new java.util.ArrayDeque<>();
        for (var c = ctx; c != null && !c.inRoot(); c = c.getParent()) {
            var parent = c.getParent();
            if (parent == null) {
                break;
            }
            if (parent.inArray()) {
                parts.push("[" + parent.getCurrentIndex() + "]");
            } else if (parent.inObject() && parent.getCurrentName() != null) {
                parts.push("." + parent.getCurrentName());
            }
        }
        return "$" + String.join("", parts);
    }

    /** One parse: the state needed to check references and overlaps. */
    private static final class Reader {
        private final JsonCursor root;
        private final Map<String, FabricNode> fabricByName = new HashMap<>();
        private final Set<String> iommuNames = new HashSet<>();
        private final List<long[]> ranges = new ArrayList<>();
        private final List<String> rangePaths = new ArrayList<>();

        Reader(JsonCursor root) {
            this.root = root;
        }

        MachineDescription read() {
            root.object(Set.of("name", "description", "memory", "encryptedMemory", "cpu", "iommus", "fabric", "devices"));
            JsonCursor n = root.optional("name");
            String name = n == null ? "machine" : n.name();
            JsonCursor d = root.optional("description");
            if (d != null) {
                d.text();
            }
            List<MemoryRange> memory = memory(root.required("memory"));
            JsonCursor enc = root.optional("encryptedMemory");
            boolean encrypted = enc != null && enc.bool();
            List<IommuUnit> iommus = iommus(root.optional("iommus"));
            List<FabricNode> fabric = fabric(root.optional("fabric"));
            List<DeviceSpec> devices = devices(root.optional("devices"));
            return new MachineDescription(name, root.source(), memory, encrypted, iommus, fabric, devices, cpu(root.optional("cpu")));
        }

        /** {@code "cpu": {"vendor": "amd", "family": "0x19"}}: what {@code cpu_supports_p2pdma} reads. */
        private static Cpu cpu(JsonCursor at) {
            if (at == null) {
                return Cpu.UNKNOWN;
            }
            at.object(Set.of("vendor", "family"));
            String vendor = at.required("vendor").name();
            JsonCursor familyAt = at.optional("family");
            long family = familyAt == null ? 0 : familyAt.size();
            if (family > 0xFFFF) {
                throw familyAt.error("expected a CPU family 0..0xffff, got 0x" + Long.toHexString(family));
            }
            return new Cpu(vendor, (int) family);
        }

        /** A 16-bit PCI id given as an integer or a string such as "0x8086". */
        private static int pciId(JsonCursor at) {
            long v = at.size();
            if (v > 0xFFFF) {
                throw at.error("expected a 16-bit PCI id such as \"0x8086\", got 0x" + Long.toHexString(v));
            }
            return (int) v;
        }

        private List<MemoryRange> memory(JsonCursor list) {
            List<MemoryRange> out = new ArrayList<>();
            List<JsonCursor> items = list.list();
            if (items.isEmpty()) {
                throw list.error("expected at least one DRAM range");
            }
            for (JsonCursor item : items) {
                item.object(Set.of("base", "size"));
                long base = item.required("base").size();
                JsonCursor sizeAt = item.required("size");
                long size = sizeAt.size();
                if (size == 0 || (size & 0xFFF) != 0) {
                    throw sizeAt.error("expected a positive multiple of 4 KiB, got 0x" + Long.toHexString(size));
                }
                if ((base & 0xFFF) != 0) {
                    throw item.required("base").error("expected a 4 KiB-aligned address, got 0x" + Long.toHexString(base));
                }
                claim(item, base, size);
                out.add(new MemoryRange(base, size));
            }
            return out;
        }

        private List<IommuUnit> iommus(JsonCursor list) {
            List<IommuUnit> out = new ArrayList<>();
            if (list == null) {
                return out;
            }
            for (JsonCursor item : list.list()) {
                item.object(Set.of("name", "translating", "reservedRegions"));
                String name = item.required("name").name();
                if (!iommuNames.add(name)) {
                    throw item.required("name").error("duplicate IOMMU unit name '" + name + "'");
                }
                JsonCursor t = item.optional("translating");
                out.add(new IommuUnit(name, t == null || t.bool(), reservedRegions(item.optional("reservedRegions"))));
            }
            return out;
        }

        /** {@code [{"base": "0x8000000", "size": "1MiB", "type": "sw-msi"}]}; types msi, sw-msi, reserved. */
        private List<ReservedRegion> reservedRegions(JsonCursor list) {
            List<ReservedRegion> out = new ArrayList<>();
            if (list == null) {
                return out;
            }
            for (JsonCursor item : list.list()) {
                item.object(Set.of("base", "size", "type"));
                long base = item.required("base").size();
                JsonCursor sizeAt = item.required("size");
                long size = sizeAt.size();
                if (size == 0 || base + size - 1 < base) {
                    throw sizeAt.error(String.format("expected a positive size that does not wrap past 2^64 from 0x%x, got 0x%x", base, size));
                }
                JsonCursor typeAt = item.required("type");
                String type = typeAt.text();
                ReservedRegion.Type kind = switch (type) {
                    case "msi" -> ReservedRegion.Type.MSI;
                    case "sw-msi" -> ReservedRegion.Type.SW_MSI;
                    case "reserved" -> ReservedRegion.Type.RESERVED;
                    default -> throw typeAt.error("unknown reserved region type \"" + type + "\" (expected: msi, sw-msi, reserved)");
                };
                out.add(new ReservedRegion(base, base + size - 1, kind));
            }
            return out;
        }

        private List<FabricNode> fabric(JsonCursor list) {
            List<FabricNode> out = new ArrayList<>();
            if (list == null) {
                return out;
            }
            for (JsonCursor item : list.list()) {
                item.object(Set.of("name", "type", "parent", "acs", "p2pForwarding", "busOffset", "vendorId", "deviceId"));
                JsonCursor nameAt = item.required("name");
                String name = nameAt.name();
                if (fabricByName.containsKey(name)) {
                    throw nameAt.error("duplicate fabric node name '" + name + "'");
                }
                JsonCursor typeAt = item.required("type");
                PciNode.Kind kind = kind(typeAt);
                JsonCursor parentAt = item.optional("parent");
                String parent = parentAt == null ? null : parentAt.name();
                if (kind == PciNode.Kind.HOST_BRIDGE && parent != null) {
                    throw parentAt.error("a host bridge has no parent");
                }
                if (kind != PciNode.Kind.HOST_BRIDGE) {
                    if (parent == null) {
                        item.required("parent"); // throws: missing
                    }
                    FabricNode up = fabricByName.get(parent);
                    if (up == null) {
                        throw parentAt.error("unknown fabric node '" + parent + "' (list parents before their children)");
                    }
                    if (!kind.allowedBelow(up.kind())) {
                        throw parentAt.error("a " + kind.jsonName() + " cannot sit below " + parent + " (a " + up.kind().jsonName() + ")");
                    }
                }
                JsonCursor acsAt = item.optional("acs");
                Acs acs = acsAt == null ? Acs.NONE : acs(acsAt);
                if (acsAt != null && kind != PciNode.Kind.ROOT_PORT && kind != PciNode.Kind.SWITCH_DOWNSTREAM) {
                    throw acsAt.error("ACS applies to root ports and switch downstream ports only");
                }
                JsonCursor fwd = item.optional("p2pForwarding");
                JsonCursor off = item.optional("busOffset");
                JsonCursor vendorAt = item.optional("vendorId");
                JsonCursor deviceAt = item.optional("deviceId");
                for (JsonCursor hostOnly : new JsonCursor[] {fwd, off, vendorAt, deviceAt}) {
                    if (hostOnly != null && kind != PciNode.Kind.HOST_BRIDGE) {
                        throw hostOnly.error("applies to host bridges only");
                    }
                }
                if ((vendorAt == null) != (deviceAt == null)) {
                    throw item.error("a host bridge's \"vendorId\" and \"deviceId\" go together (the whitelist matches both)");
                }
                FabricNode node = new FabricNode(name, kind, parent, acs, fwd != null && fwd.bool(), off == null ? 0 : off.size(),
                        vendorAt == null ? -1 : pciId(vendorAt), deviceAt == null ? -1 : pciId(deviceAt));
                fabricByName.put(name, node);
                out.add(node);
            }
            return out;
        }

        private static PciNode.Kind kind(JsonCursor at) {
            String t = at.text();
            for (PciNode.Kind k : PciNode.Kind.values()) {
                if (k != PciNode.Kind.ENDPOINT && k.jsonName().equals(t)) {
                    return k;
                }
            }
            throw at.error("unknown type \"" + t + "\" (expected host-bridge, root-port, switch-upstream or switch-downstream; endpoints come from devices)");
        }

        private static Acs acs(JsonCursor at) {
            at.object(Set.of("sourceValidation", "requestRedirect", "completionRedirect", "upstreamForwarding", "egressControl",
                    "translationBlocking", "directTranslated"));
            return new Acs(flag(at, "sourceValidation"), flag(at, "requestRedirect"), flag(at, "completionRedirect"), flag(at, "upstreamForwarding"),
                    flag(at, "egressControl"), flag(at, "translationBlocking"), flag(at, "directTranslated"));
        }

        private static boolean flag(JsonCursor at, String field) {
            JsonCursor f = at.optional(field);
            return f != null && f.bool();
        }

        private List<DeviceSpec> devices(JsonCursor list) {
            List<DeviceSpec> out = new ArrayList<>();
            if (list == null) {
                return out;
            }
            Set<String> names = new HashSet<>();
            Map<String, Map<Integer, String>> functionsByPort = new HashMap<>();
            Map<String, JsonCursor> physfnAt = new java.util.LinkedHashMap<>(); // VF name -> where it names its PF
            Set<Integer> groups = new HashSet<>();
            for (JsonCursor item : list.list()) {
                item.object(Set.of("name", "model", "port", "dmaBits", "coherentBits", "coherent", "untrusted", "iommu", "iommuGroup",
                        "rangeOffset", "maxSegmentSize", "segmentBoundaryMask", "minAlignMask", "bars", "modelOptions", "function", "physfn", "acs"));
                JsonCursor nameAt = item.required("name");
                String name = nameAt.name();
                if (!names.add(name) || fabricByName.containsKey(name)) {
                    throw nameAt.error("duplicate name '" + name + "' (device and fabric node names share one namespace)");
                }
                JsonCursor modelAt = item.optional("model");
                String model = modelAt == null ? "generic" : modelAt.name();
                JsonCursor portAt = item.optional("port");
                String port = portAt == null ? null : portAt.name();
                JsonCursor pfAt = item.optional("physfn");
                JsonCursor functionAt = item.optional("function");
                int function = functionAt == null ? 0 : functionAt.integer(0, 7);
                JsonCursor devAcsAt = item.optional("acs");
                Acs devAcs = devAcsAt == null ? Acs.NONE : acs(devAcsAt);
                long busOffset = 0;
                if (pfAt != null) {
                    pfAt.name();
                    for (JsonCursor notForVf : new JsonCursor[] {portAt, functionAt, devAcsAt}) {
                        if (notForVf != null) {
                            throw notForVf.error("a virtual function takes its port from its physical function (\"physfn\")");
                        }
                    }
                    physfnAt.put(name, pfAt);
                } else if (port != null) {
                    FabricNode p = fabricByName.get(port);
                    if (p == null) {
                        throw portAt.error("unknown fabric node '" + port + "'");
                    }
                    if (!PciNode.Kind.ENDPOINT.allowedBelow(p.kind())) {
                        throw portAt.error("a device sits below a root-port, a switch-downstream port or (integrated in the root complex) a host-bridge, not a "
                                + p.kind().jsonName());
                    }
                    if (p.kind() != PciNode.Kind.HOST_BRIDGE) { // below a host bridge, root ports and integrated endpoints are siblings
                        for (FabricNode f : fabricByName.values()) {
                            if (port.equals(f.parent())) {
                                throw portAt.error("port '" + port + "' already has a device or switch below it");
                            }
                        }
                        String holder = functionsByPort.computeIfAbsent(port, k -> new HashMap<>()).putIfAbsent(function, name);
                        if (holder != null) {
                            throw (functionAt != null ? functionAt : portAt).error("port '" + port + "' already has function " + function + " ('" + holder
                                    + "'): the functions of a multi-function device need distinct \"function\" numbers (0..7)");
                        }
                    }
                    busOffset = hostBridgeOf(port).busOffset();
                } else if (functionAt != null || devAcsAt != null) {
                    throw (functionAt != null ? functionAt : devAcsAt).error("applies to PCI devices only (this device has no \"port\")");
                }
                int dmaBits = intOr(item.optional("dmaBits"), 1, 64, 64);
                int coherentBits = intOr(item.optional("coherentBits"), 1, 64, dmaBits);
                boolean coherent = boolOr(item.optional("coherent"), true);
                boolean untrusted = boolOr(item.optional("untrusted"), false);
                JsonCursor iommuAt = item.optional("iommu");
                String iommu = iommuAt == null ? null : iommuAt.name();
                if (iommu != null && !iommuNames.contains(iommu)) {
                    throw iommuAt.error("unknown IOMMU unit '" + iommu + "'");
                }
                JsonCursor groupAt = item.optional("iommuGroup");
                int group = groupAt == null ? -1 : groupAt.integer(0, 1 << 20);
                if (groupAt != null && iommu == null) {
                    throw groupAt.error("an IOMMU group needs an \"iommu\" unit");
                }
                if (group >= 0) {
                    groups.add(group);
                }
                long rangeOffset = sizeOr(item.optional("rangeOffset"), 0);
                JsonCursor segAt = item.optional("maxSegmentSize");
                long maxSeg = sizeOr(segAt, DeviceAttributes.DEFAULT_MAX_SEGMENT_SIZE);
                if (maxSeg == 0) {
                    throw segAt.error("expected a positive size");
                }
                JsonCursor boundaryAt = item.optional("segmentBoundaryMask");
                long boundary = boundaryAt == null ? -1L : boundaryAt.mask();
                JsonCursor alignAt = item.optional("minAlignMask");
                long minAlign = alignAt == null ? 0 : alignAt.mask();
                DeviceAttributes attrs = new DeviceAttributes(DeviceAttributes.bitMask(dmaBits), DeviceAttributes.bitMask(coherentBits),
                        coherent, untrusted, rangeOffset, maxSeg, boundary, minAlign);
                List<BarSpec> bars = bars(item.optional("bars"), busOffset);
                out.add(new DeviceSpec(name, model, port, attrs, iommu, group, bars, modelOptions(item.optional("modelOptions")), function,
                        pfAt == null ? null : pfAt.name(), devAcs));
            }
            // virtual functions: the physical function is a PCI device that is no VF itself; the VF sits at its port
            Map<String, DeviceSpec> byName = new HashMap<>();
            for (DeviceSpec spec : out) {
                byName.put(spec.name(), spec);
            }
            for (int i = 0; i < out.size(); i++) {
                DeviceSpec vf = out.get(i);
                if (vf.physfn() == null) {
                    continue;
                }
                JsonCursor at = physfnAt.get(vf.name());
                DeviceSpec pf = byName.get(vf.physfn());
                if (pf == null) {
                    throw at.error("unknown device '" + vf.physfn() + "'");
                }
                if (pf.physfn() != null || pf.port() == null) {
                    throw at.error("'" + pf.name() + "' " + (pf.physfn() != null ? "is a virtual function itself" : "is not a PCI device (no \"port\")"));
                }
                long pfOffset = hostBridgeOf(pf.port()).busOffset();
                for (int b = 0; b < vf.bars().size(); b++) {
                    if (vf.bars().get(b).address() - pfOffset < 0) {
                        throw list.list().get(i).required("bars").list().get(b).required("address").error(String.format(
                                "the host bridge's bus offset 0x%x puts this BAR below bus address 0", pfOffset));
                    }
                }
                out.set(i, new DeviceSpec(vf.name(), vf.model(), pf.port(), vf.attributes(), vf.iommu(), vf.iommuGroup(), vf.bars(), vf.modelOptions(),
                        0, pf.name(), Acs.NONE));
            }
            // automatic groups: one per device behind an IOMMU, numbered after the explicit ones
            List<DeviceSpec> numbered = new ArrayList<>();
            int next = 0;
            for (DeviceSpec s : out) {
                if (s.iommu() != null && s.iommuGroup() < 0) {
                    while (groups.contains(next)) {
                        next++;
                    }
                    groups.add(next);
                    s = s.withGroup(next);
                }
                numbered.add(s);
            }
            return numbered;
        }

        private static Map<String, String> modelOptions(JsonCursor at) {
            Map<String, String> out = new java.util.LinkedHashMap<>();
            if (at != null) {
                for (String key : at.fieldNames()) {
                    out.put(key, at.required(key).text());
                }
            }
            return out;
        }

        private List<BarSpec> bars(JsonCursor list, long busOffset) {
            List<BarSpec> out = new ArrayList<>();
            if (list == null) {
                return out;
            }
            Set<Integer> indexes = new HashSet<>();
            for (JsonCursor item : list.list()) {
                item.object(Set.of("index", "kind", "address", "size"));
                JsonCursor indexAt = item.required("index");
                int index = indexAt.integer(0, 5);
                if (!indexes.add(index)) {
                    throw indexAt.error("duplicate BAR index " + index);
                }
                JsonCursor kindAt = item.required("kind");
                Bar.Kind kind = switch (kindAt.text().toLowerCase(Locale.ROOT)) {
                    case "memory" -> Bar.Kind.MEMORY;
                    case "registers" -> Bar.Kind.REGISTERS;
                    default -> throw kindAt.error("expected \"memory\" or \"registers\", got \"" + kindAt.text() + "\"");
                };
                JsonCursor sizeAt = item.required("size");
                long size = sizeAt.size();
                if (size < 4096 || Long.bitCount(size) != 1) {
                    throw sizeAt.error("expected a power of two of at least 4 KiB, got 0x" + Long.toHexString(size));
                }
                JsonCursor addrAt = item.required("address");
                long address = addrAt.size();
                if ((address & (size - 1)) != 0) {
                    throw addrAt.error(String.format("expected an address aligned to the BAR size 0x%x, got 0x%x", size, address));
                }
                if (address - busOffset < 0) {
                    throw addrAt.error(String.format("the host bridge's bus offset 0x%x puts this BAR below bus address 0", busOffset));
                }
                claim(item, address, size);
                out.add(new BarSpec(index, kind, address, size));
            }
            return out;
        }

        private FabricNode hostBridgeOf(String node) {
            FabricNode n = fabricByName.get(node);
            while (n.parent() != null) {
                n = fabricByName.get(n.parent());
            }
            return n;
        }

        /** Records an address range, refusing overlaps with the ranges seen so far. */
        private void claim(JsonCursor at, long base, long size) {
            if (base + size < base || base + size < 0) {
                throw at.error(String.format("range 0x%x + 0x%x wraps around the address space", base, size));
            }
            for (int i = 0; i < ranges.size(); i++) {
                long[] r = ranges.get(i);
                if (base < r[0] + r[1] && r[0] < base + size) {
                    throw at.error(String.format("range [0x%x-0x%x) overlaps %s [0x%x-0x%x)", base, base + size, rangePaths.get(i), r[0], r[0] + r[1]));
                }
            }
            ranges.add(new long[] {base, size});
            rangePaths.add(at.path());
        }

        private static int intOr(JsonCursor at, int min, int max, int dflt) {
            return at == null ? dflt : at.integer(min, max);
        }

        private static boolean boolOr(JsonCursor at, boolean dflt) {
            return at == null ? dflt : at.bool();
        }

        private static long sizeOr(JsonCursor at, long dflt) {
            return at == null ? dflt : at.size();
        }
    }
}
