package io.dma4j.fuzz;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaApiMisuseException;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.IovaState;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.Machine;
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
 * two-step and coherent calls, valid and invalid, on the built-in machine's copy engines —
 * {@code dmatest0} (dma-direct), {@code dmatest1} (IOMMU strict), {@code legacy32} (32-bit:
 * swiotlb bounces the high pages used here) and {@code tbt0} (untrusted: IOMMU with bouncing).
 * The model knows what is live; after every call the copy engine reads through every live
 * device-readable mapping and compares with the original bytes, writes through device-writable
 * ones and checks the bytes arrive at unmap, and in strict mode probes the address an unmap just
 * released (it must fault). Invalid calls must throw the DMA-debug misuse and change nothing.
 * At the end everything is released and no mapping, bounce slot or report is left over.
 *
 * <p>jqwik shrinks a failing sequence and prints its seed; {@code jqwik.tries.default} in
 * {@code junit-platform.properties} bounds the CI run; run longer with
 * {@code ./mvn25 -pl consumers-rdma-vfio-nvme verify -Dtest=ApiSequenceFuzzTest -Djqwik.tries.default=5000}.
 */
class ApiSequenceFuzzTest {
    private static final String[] DEVICES = {"dmatest0", "dmatest1", "legacy32", "tbt0"};
    private static final boolean[] STRICT_IOMMU = {false, true, false, true};
    private static final DmaDirection[] DIRS = {DmaDirection.TO_DEVICE, DmaDirection.FROM_DEVICE, DmaDirection.BIDIRECTIONAL};
    private static final int BLOCKS = 24;
    private static final long BLOCK = 16 * 1024;
    private static final long PROBE = 4096;

    sealed interface Op {
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
                net.jqwik.api.Tuple.of(1, which.map(Sync::new)));
        return op.list().ofMaxSize(40);
    }

    @Property
    void everySequenceKeepsTheModelAndTheMachineInStep(@ForAll("sequences") List<Op> ops, @ForAll long seed) {
        try (Machine machine = Machine.createDefault();
             DmaRuntime rt = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(Map.of(
                     "dma4j.backend.dmatest1", "iommu", "dma4j.iommu.mode", "strict"))).build()) {
            new Run(machine, rt, seed).run(ops);
        }
    }

    /** One sequence on one machine. */
    private static final class Run {
        final Machine machine;
        final DmaRuntime rt;
        final PhysicalAddressSpace cpu;
        final DmaMapper[] mappers = new DmaMapper[DEVICES.length];
        final CoherentBuffer[] scratch = new CoherentBuffer[DEVICES.length];
        final long[] blocks = new long[BLOCKS];
        final byte[][] original = new byte[BLOCKS][];
        final List<Live> live = new ArrayList<>();
        int misuses;

        Run(Machine machine, DmaRuntime rt, long seed) {
            this.machine = machine;
            this.rt = rt;
            this.cpu = machine.addressSpace();
            SplittableRandom r = new SplittableRandom(seed);
            for (int b = 0; b < BLOCKS; b++) {
                blocks[b] = machine.pageAllocator().allocPages(2, 4L << 30, Long.MAX_VALUE); // above 4 GiB: legacy32 bounces
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
            for (int b = 0; b < BLOCKS; b++) {
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
                case "sg" -> m.unmapSg(l.sg, l.nents, l.dir, 0);
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
            if (STRICT_IOMMU[l.dev] && !l.kind.equals("coherent")) {
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
