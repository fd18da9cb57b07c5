package io.dma4j.fuzz;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.DmaMappingException;
import io.dma4j.api.IovaState;
import io.dma4j.api.P2pMapType;
import io.dma4j.api.P2pState;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.Machine;
import io.dma4j.platform.description.MachineDescriptionParser;
import io.dma4j.platform.device.CopyEngine;
import io.dma4j.platform.memory.PhysicalAddressSpace;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * API-sequence fuzzing against a reference model: random sequences of classic, scatter-list,
 * two-step, coherent and peer-to-peer calls, valid and invalid, on the copy engines of a
 * random machine. The machine ({@link Shape}) puts four copy engines on random ports (beside
 * a peer's memory BAR below one switch, behind an ACS-redirecting port of that switch, or on
 * root ports), with random DMA masks (32 to 64 bits: a 32-bit direct device bounces the
 * high pages used here), behind the strict IOMMU or not, untrusted or not, with or without a
 * min align mask; memory encryption (every direct mapping bounces) and P2P forwarding in the
 * host bridge are random too.
 *
 * <p>The model knows what is live; after every call the copy engine reads through every live
 * device-readable mapping and compares with the original bytes, writes through
 * device-writable ones and checks the bytes arrive at unmap, and behind the IOMMU probes the
 * address an unmap just released (it must fault). Peer memory is mapped with a one-entry
 * scatter list whose map type the model predicts from the fabric (bus address beside the
 * peer, through the host bridge when it forwards, else refused with nothing mapped); bytes go
 * to and from the peer's BAR. Invalid calls must throw the DMA-debug misuse and change
 * nothing. At the end everything is released and no mapping, bounce slot, IOVA or report is
 * left over.
 *
 * <p>jqwik shrinks a failing sequence and prints its seed; {@code jqwik.tries.default} in
 * {@code junit-platform.properties} bounds the CI run; run longer with
 * {@code ./mvn25 -B verify -pl consumers-rdma-vfio-nvme -am -Dtest=ApiSequenceFuzzTest -Dsurefire.failIfNoSpecifiedTests=false -Djqwik.tries.default=5000}.
 */
class ApiSequenceFuzzTest {
    private static final String[] DEVICES = {"ce0", "ce1", "ce2", "ce3"};
    /**
     * Where a copy engine may sit: beside the peer below sw0, below sw0 behind a port with ACS
     * redirect, or on a root port of its own. Engine d takes the d-th port of its kind.
     */
    private static final String[] PLACES = {"sw0.b", "sw0.acs", "rp"};
    private static final DmaDirection[] DIRS = {DmaDirection.TO_DEVICE, DmaDirection.FROM_DEVICE, DmaDirection.BIDIRECTIONAL};
    private static final int BLOCKS = 24;
    /** Blocks of the peer's memory BAR, numbered after the DRAM blocks. */
    private static final int PEER_BLOCKS = 8;
    private static final long PEER_BAR = 0xd000_0000L;
    private static final long BLOCK = 16 * 1024;
    private static final long PROBE = 4096;

    /** One copy engine of the random machine. */
    record Engine(int place, int maskBits, boolean iommu, boolean untrusted, boolean minAlign) {
        String port(int d) {
            return PLACES[place] + d;
        }
    }

    /** The random machine: host-bridge forwarding, memory encryption and four copy engines. */
    record Shape(boolean forwarding, boolean encrypted, List<Engine> engines) {
        String json() {
            StringBuilder devices = new StringBuilder();
            for (int d = 0; d < engines.size(); d++) {
                Engine e = engines.get(d);
                devices.append(String.format(java.util.Locale.ROOT, """
                        {"name": "%s", "model": "copy-engine", "port": "%s", "dmaBits": %d, %s %s %s
                         "bars": [ {"index": 0, "kind": "registers", "address": "0x%x", "size": "4KiB"} ]},
                        """, DEVICES[d], e.port(d), e.maskBits(), e.iommu() ? "\"iommu\": \"dmar0\"," : "",
                        e.iommu() && e.untrusted() ? "\"untrusted\": true," : "", e.minAlign() ? "\"minAlignMask\": \"0xfff\"," : "",
                        0xc000_0000L + d * 0x1000L));
            }
            StringBuilder ports = new StringBuilder();
            for (int d = 0; d < engines.size(); d++) {
                ports.append(String.format(java.util.Locale.ROOT, """
                        {"name": "sw0.b%d", "type": "switch-downstream", "parent": "sw0"},
                        {"name": "sw0.acs%d", "type": "switch-downstream", "parent": "sw0", "acs": {"requestRedirect": true, "completionRedirect": true}},
                        {"name": "rp%d", "type": "root-port", "parent": "hb0"},
                        """, d, d, d));
            }
            return String.format(java.util.Locale.ROOT, """
                    { "name": "fuzz",
                      "memory": [ {"base": "1MiB", "size": "1023MiB"}, {"base": "4GiB", "size": "1GiB"} ],
                      "encryptedMemory": %s,
                      "iommus": [ {"name": "dmar0"} ],
                      "fabric": [
                        {"name": "hb0", "type": "host-bridge", "p2pForwarding": %s},
                        {"name": "rp.sw", "type": "root-port", "parent": "hb0"},
                        {"name": "sw0", "type": "switch-upstream", "parent": "rp.sw"},
                        {"name": "sw0.dp0", "type": "switch-downstream", "parent": "sw0"},
                        %s
                        {"name": "rp.spare", "type": "root-port", "parent": "hb0"} ],
                      "devices": [
                        %s
                        {"name": "peer", "model": "peer-memory", "port": "sw0.dp0",
                         "bars": [ {"index": 2, "kind": "memory", "address": "0x%x", "size": "16MiB"} ]} ] }
                    """, encrypted, forwarding, ports, devices, PEER_BAR);
        }

        /**
         * The map type {@code pci_p2pdma_map_type} gives engine {@code d} for the peer's BAR
         * (drivers/pci/p2pdma.c, v6.16): beside the peer below sw0 with no ACS redirect on the
         * path, the switch turns the traffic around (bus address); any other path crosses hb0,
         * which is allowed only when the host bridge forwards peer traffic.
         */
        P2pMapType expectedMapType(int d) {
            if (engines.get(d).place() == 0) {
                return P2pMapType.BUS_ADDR;
            }
            return forwarding ? P2pMapType.THRU_HOST_BRIDGE : P2pMapType.NOT_SUPPORTED;
        }
    }

    sealed interface Op {
    }

    /** Maps a block of the peer's memory BAR with a one-entry scatter list. */
    record PeerSg(int dev, int block, int dir) implements Op {
    }

    record MapPhys(int dev, int block, int offset, int length, int dir) implements Op {
    }

    record MapSg(int dev, int first, int entries, int dir) implements Op {
    }

    record TwoStep(int dev, int block, int pages, int dir) implements Op {
    }

    record Coherent(int dev, int pages) implements Op {
    }

    /** Releases the live item at {@code which} modulo the live count. */
    record Release(int which) implements Op {
    }

    /** Unmaps a live mapping with a wrong size: a misuse, nothing changes. */
    record WrongSizeUnmap(int which) implements Op {
    }

    /** Unmaps an address nothing was mapped at: a misuse. */
    record NeverMapped(int dev) implements Op {
    }

    /** Syncs a live streaming mapping for the CPU, then for the device. */
    record Sync(int which) implements Op {
    }

    /** A live item in the reference model. */
    private static final class Live {
        final int dev;
        final String kind;
        final DmaDirection dir;
        long phys;
        long dma;
        long size;
        ScatterList sg;
        int nents;
        IovaState state;
        long[] perPage; // two-step fallback: each page mapped alone
        CoherentBuffer coherent;
        boolean written; // the device wrote the probe pattern at the start
        int[] blocks = {};

        Live(int dev, String kind, DmaDirection dir) {
            this.dev = dev;
            this.kind = kind;
            this.dir = dir;
        }
    }

    @Provide
    Arbitrary<Shape> shapes() {
        Arbitrary<Engine> engine = Combinators.combine(Arbitraries.integers().between(0, PLACES.length - 1),
                Arbitraries.of(32, 36, 40, 64), Arbitraries.of(true, false), Arbitraries.of(true, false), Arbitraries.of(true, false)).as(Engine::new);
        return Combinators.combine(Arbitraries.of(true, false), Arbitraries.of(true, false), engine.list().ofSize(DEVICES.length)).as(Shape::new);
    }

    @Provide
    Arbitrary<List<Op>> sequences() {
        Arbitrary<Integer> dev = Arbitraries.integers().between(0, DEVICES.length - 1);
        Arbitrary<Integer> dir = Arbitraries.integers().between(0, DIRS.length - 1);
        Arbitrary<Integer> block = Arbitraries.integers().between(0, BLOCKS - 1);
        Arbitrary<Integer> which = Arbitraries.integers().between(0, 1000);
        Arbitrary<Op> op = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(4, Combinators.combine(dev, block, Arbitraries.integers().between(0, 4095), Arbitraries.integers().between(1, 12288), dir)
                        .as(MapPhys::new)),
                net.jqwik.api.Tuple.of(2, Combinators.combine(dev, block, Arbitraries.integers().between(1, 4), dir).as(MapSg::new)),
                net.jqwik.api.Tuple.of(2, Combinators.combine(dev, block, Arbitraries.integers().between(1, 4), dir).as(TwoStep::new)),
                net.jqwik.api.Tuple.of(1, Combinators.combine(dev, Arbitraries.integers().between(1, 4)).as(Coherent::new)),
                net.jqwik.api.Tuple.of(4, which.map(Release::new)),
                net.jqwik.api.Tuple.of(1, which.map(WrongSizeUnmap::new)),
                net.jqwik.api.Tuple.of(1, dev.map(NeverMapped::new)),
                net.jqwik.api.Tuple.of(1, which.map(Sync::new)),
                net.jqwik.api.Tuple.of(2, Combinators.combine(dev, Arbitraries.integers().between(0, PEER_BLOCKS - 1), dir).as(PeerSg::new)));
        return op.list().ofMaxSize(40);
    }

    @Property
    void everySequenceKeepsTheModelAndTheMachineInStep(@ForAll("shapes") Shape shape, @ForAll("sequences") List<Op> ops, @ForAll long seed) {
        try (Machine machine = Machine.create(MachineDescriptionParser.parse(shape.json(), "fuzz.json"));
             DmaRuntime rt = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(Map.of("dma4j.iommu.mode", "strict"))).build()) {
            new Run(machine, rt, shape, seed).run(ops);
        }
    }

    /** One sequence on one machine. */
    private static final class Run {
        final Machine machine;
        final DmaRuntime rt;
        final Shape shape;
        final PhysicalAddressSpace cpu;
        final DmaMapper[] mappers = new DmaMapper[DEVICES.length];
        final CoherentBuffer[] scratch = new CoherentBuffer[DEVICES.length];
        final long[] blocks = new long[BLOCKS + PEER_BLOCKS]; // DRAM blocks, then the peer BAR's
        final byte[][] original = new byte[BLOCKS + PEER_BLOCKS][];
        final List<Live> live = new ArrayList<>();
        int misuses;

        Run(Machine machine, DmaRuntime rt, Shape shape, long seed) {
            this.machine = machine;
            this.rt = rt;
            this.shape = shape;
            this.cpu = machine.addressSpace();
            SplittableRandom r = new SplittableRandom(seed);
            for (int b = 0; b < BLOCKS + PEER_BLOCKS; b++) {
                blocks[b] = b < BLOCKS ? machine.pageAllocator().allocPages(2, 4L << 30, Long.MAX_VALUE) // above 4 GiB: a 32-bit direct engine bounces
                        : PEER_BAR + (b - BLOCKS) * BLOCK;
                original[b] = new byte[(int) BLOCK];
                for (int i = 0; i < BLOCK; i++) {
                    original[b][i] = (byte) r.nextInt();
                }
                cpu.view(blocks[b], BLOCK).copyFrom(MemorySegment.ofArray(original[b]));
            }
            for (int d = 0; d < DEVICES.length; d++) {
                mappers[d] = rt.mapper(DEVICES[d]);
                scratch[d] = mappers[d].allocCoherent(2 * PROBE, 0);
                for (int i = 0; i < PROBE; i++) {
                    scratch[d].cpu().set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) (0x5A ^ i ^ d));
                }
            }
        }

        long copy(int dev, long src, long dst, long len) {
            return CopyEngine.copy(cpu, machine.device(DEVICES[dev]).bar(0), src, dst, len);
        }

        /** The original bytes at a physical address inside the blocks. */
        byte[] expected(long phys, long len) {
            for (int b = 0; b < BLOCKS + PEER_BLOCKS; b++) {
                if (phys >= blocks[b] && phys + len <= blocks[b] + BLOCK) {
                    int off = (int) (phys - blocks[b]);
                    return java.util.Arrays.copyOfRange(original[b], off, off + (int) len);
                }
            }
            throw new AssertionError("not in a block: 0x" + Long.toHexString(phys));
        }

        void run(List<Op> ops) {
            for (Op op : ops) {
                apply(op);
                probeAll(op);
            }
            while (!live.isEmpty()) {
                release(live.getLast());
            }
            for (int d = 0; d < DEVICES.length; d++) {
                mappers[d].freeCoherent(scratch[d]);
                assertThat(rt.liveMappings(DEVICES[d])).as("%s: nothing live at the end", DEVICES[d]).isZero();
                Map<String, Long> st = rt.statistics(DEVICES[d]).asMap();
                assertThat(st.getOrDefault("bounce.slots.used", 0L)).as("%s: bounce slots back", DEVICES[d]).isZero();
                assertThat(st.getOrDefault("backend.iova.inUseGranules", 0L)).as("%s: IOVA back", DEVICES[d]).isZero();
            }
            assertThat(rt.debugReports()).as("one report per misuse, nothing else").hasSize(misuses);
        }

        void apply(Op op) {
            switch (op) {
                case MapPhys m -> {
                    if (busy(m.block())) {
                        return; // one live item per block: overlapping device-writable mappings are a misuse of their own
                    }
                    long len = Math.min(m.length(), BLOCK - m.offset());
                    Live l = new Live(m.dev(), "phys", DIRS[m.dir()]);
                    l.phys = blocks[m.block()] + m.offset();
                    l.blocks = new int[] {m.block()};
                    l.size = len;
                    l.dma = mappers[m.dev()].mapPhys(l.phys, len, l.dir, 0);
                    live.add(l);
                }
                case MapSg m -> {
                    for (int i = 0; i < m.entries(); i++) {
                        if (busy((m.first() + 3 * i) % BLOCKS)) {
                            return;
                        }
                    }
                    Live l = new Live(m.dev(), "sg", DIRS[m.dir()]);
                    l.sg = new ScatterList(m.entries());
                    for (int i = 0; i < m.entries(); i++) {
                        l.sg.set(i, blocks[(m.first() + 3 * i) % BLOCKS], BLOCK);
                    }
                    l.nents = m.entries();
                    l.blocks = new int[m.entries()];
                    for (int i = 0; i < m.entries(); i++) {
                        l.blocks[i] = (m.first() + 3 * i) % BLOCKS;
                    }
                    int mapped = mappers[m.dev()].mapSg(l.sg, l.nents, l.dir, 0);
                    assertThat(mapped).isBetween(1, m.entries());
                    l.phys = l.sg.phys(0);
                    l.dma = l.sg.dmaAddress(0);
                    l.size = Math.min(l.sg.dmaLength(0), BLOCK);
                    live.add(l);
                }
                case TwoStep t -> {
                    if (busy(t.block())) {
                        return;
                    }
                    Live l = new Live(t.dev(), "two-step", DIRS[t.dir()]);
                    l.phys = blocks[t.block()];
                    l.blocks = new int[] {t.block()};
                    l.size = t.pages() * 4096L;
                    l.state = new IovaState();
                    DmaMapper m = mappers[t.dev()];
                    if (m.iovaTryAlloc(l.state, l.phys, l.size)) {
                        for (int p = 0; p < t.pages(); p++) {
                            m.iovaLink(l.state, l.phys + p * 4096L, p * 4096L, 4096, l.dir, 0);
                        }
                        m.iovaSync(l.state, 0, l.size);
                        l.dma = l.state.addr();
                    } else { // no IOVA space here: the caller maps page by page
                        l.perPage = new long[t.pages()];
                        for (int p = 0; p < t.pages(); p++) {
                            l.perPage[p] = m.mapPhys(l.phys + p * 4096L, 4096, l.dir, 0);
                        }
                        l.dma = l.perPage[0];
                        l.size = 4096;
                    }
                    live.add(l);
                }
                case Coherent c -> {
                    Live l = new Live(c.dev(), "coherent", DmaDirection.BIDIRECTIONAL);
                    l.coherent = mappers[c.dev()].allocCoherent(c.pages() * 4096L, 0);
                    l.dma = l.coherent.dmaAddress();
                    l.size = c.pages() * 4096L;
                    live.add(l);
                }
                case PeerSg p -> {
                    int block = BLOCKS + p.block();
                    if (busy(block)) {
                        return;
                    }
                    long phys = blocks[block];
                    P2pMapType expected = shape.expectedMapType(p.dev());
                    assertThat(mappers[p.dev()].p2pMapType(new P2pState(), phys)).as("%s for the peer's BAR on %s", DEVICES[p.dev()], shape).isEqualTo(expected);
                    ScatterList sg = new ScatterList(1).set(0, phys, BLOCK);
                    if (expected == P2pMapType.NOT_SUPPORTED) {
                        assertThatThrownBy(() -> mappers[p.dev()].mapSg(sg, 1, DIRS[p.dir()], 0)).isInstanceOf(DmaMappingException.class)
                                .hasMessageContaining("does not forward peer-to-peer traffic");
                        return; // refused with nothing mapped: the end-of-run checks see to that
                    }
                    if (expected == P2pMapType.THRU_HOST_BRIDGE && shape.encrypted() && !shape.engines().get(p.dev()).iommu()) {
                        // dma_direct_map_phys (v6.18): with is_swiotlb_force_bounce, DMA_ATTR_MMIO goes to err_overflow
                        assertThatThrownBy(() -> mappers[p.dev()].mapSg(sg, 1, DIRS[p.dir()], 0)).isInstanceOf(DmaMappingException.class)
                                .hasMessageContaining("MMIO cannot be bounced");
                        return;
                    }
                    Live l = new Live(p.dev(), "p2p", DIRS[p.dir()]);
                    l.sg = sg;
                    l.nents = 1;
                    l.blocks = new int[] {block};
                    assertThat(mappers[p.dev()].mapSg(sg, 1, l.dir, 0)).isEqualTo(1);
                    l.phys = phys;
                    l.dma = sg.dmaAddress(0);
                    l.size = sg.dmaLength(0);
                    boolean bus = (sg.dmaFlags(0) & ScatterList.FLAG_BUS_ADDRESS) != 0;
                    assertThat(bus).as("a bus address exactly when the switch turns the traffic around").isEqualTo(expected == P2pMapType.BUS_ADDR);
                    if (bus) {
                        assertThat(l.dma).as("the peer's bus address (hb0 has no offset)").isEqualTo(phys);
                    }
                    live.add(l);
                }
                case Release r -> {
                    if (!live.isEmpty()) {
                        release(live.get(r.which() % live.size()));
                    }
                }
                case WrongSizeUnmap w -> {
                    Live l = pick(w.which(), "phys");
                    if (l != null) {
                        misuses++;
                        assertThatThrownBy(() -> mappers[l.dev].unmapPhys(l.dma, l.size + 4096, l.dir, 0)).isInstanceOf(DmaApiMisuseException.class);
                    }
                }
                case NeverMapped n -> {
                    misuses++;
                    assertThatThrownBy(() -> mappers[n.dev()].unmapPhys(0x7_0000_0000L, 4096, DmaDirection.TO_DEVICE, 0))
                            .isInstanceOf(DmaApiMisuseException.class);
                }
                case Sync s -> {
                    Live l = pick(s.which(), "phys");
                    if (l != null) {
                        mappers[l.dev].syncForCpu(l.dma, l.size, l.dir);
                        mappers[l.dev].syncForDevice(l.dma, l.size, l.dir);
                    }
                }
            }
        }

        boolean busy(int block) {
            for (Live l : live) {
                for (int b : l.blocks) {
                    if (b == block) {
                        return true;
                    }
                }
            }
            return false;
        }

        Live pick(int which, String kind) {
            List<Live> of = live.stream().filter(l -> l.kind.equals(kind)).toList();
            return of.isEmpty() ? null : of.get(which % of.size());
        }

        /** The copy engine through every live mapping: reads compare with the originals, writes leave a pattern. */
        void probeAll(Op after) {
            for (Live l : live) {
                long n = Math.min(l.size, PROBE);
                String what = l.kind + " " + l.dir + " on " + DEVICES[l.dev] + " after " + after;
                if (l.dir != DmaDirection.FROM_DEVICE && !l.kind.equals("coherent")) {
                    long at = scratch[l.dev].dmaAddress() + PROBE;
                    assertThat(copy(l.dev, l.dma, at, n)).as("%s: the device reads it", what).isEqualTo(CopyEngine.STATUS_DONE);
                    byte[] got = scratch[l.dev].cpu().asSlice(PROBE, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                    assertThat(got).as("%s: the bytes the device read", what).isEqualTo(expected(l.phys, n));
                } else if (l.dir != DmaDirection.TO_DEVICE && !l.written) {
                    assertThat(copy(l.dev, scratch[l.dev].dmaAddress(), l.dma, n)).as("%s: the device writes it", what).isEqualTo(CopyEngine.STATUS_DONE);
                    l.written = true;
                }
            }
        }

        void release(Live l) {
            DmaMapper m = mappers[l.dev];
            switch (l.kind) {
                case "phys" -> m.unmapPhys(l.dma, l.size, l.dir, 0);
                case "sg", "p2p" -> m.unmapSg(l.sg, l.nents, l.dir, 0);
                case "two-step" -> {
                    if (l.perPage == null) {
                        m.iovaDestroy(l.state, l.state.size(), l.dir, 0);
                    } else {
                        for (int p = l.perPage.length - 1; p >= 0; p--) {
                            m.unmapPhys(l.perPage[p], 4096, l.dir, 0);
                        }
                    }
                }
                case "coherent" -> m.freeCoherent(l.coherent);
                default -> throw new AssertionError(l.kind);
            }
            live.remove(l);
            long n = Math.min(l.size, PROBE);
            if (l.written && !l.kind.equals("coherent")) {
                byte[] pattern = scratch[l.dev].cpu().asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                byte[] arrived = cpu.view(l.phys, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                assertThat(arrived).as("%s %s on %s: what the device wrote is in memory after unmap", l.kind, l.dir, DEVICES[l.dev]).isEqualTo(pattern);
                restore(l.phys, n);
            }
            boolean busAddress = l.kind.equals("p2p") && (l.sg.dmaFlags(0) & ScatterList.FLAG_BUS_ADDRESS) != 0; // peer memory stays reachable
            if (shape.engines().get(l.dev).iommu() && !l.kind.equals("coherent") && !busAddress) {
                long faults = machine.device(DEVICES[l.dev]).port().faultCount();
                assertThat(copy(l.dev, l.dma, scratch[l.dev].dmaAddress() + PROBE, 8)).as("strict: %s unmapped on %s must fault", l.kind, DEVICES[l.dev])
                        .isEqualTo(CopyEngine.STATUS_FAULT);
                assertThat(machine.device(DEVICES[l.dev]).port().faultCount()).isEqualTo(faults + 1);
            }
        }

        /** Puts the original bytes back where a device wrote, so later reads compare with the originals. */
        void restore(long phys, long n) {
            cpu.view(phys, n).copyFrom(MemorySegment.ofArray(expected(phys, n)));
        }
    }
}
