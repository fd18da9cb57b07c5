package io.dma4j.fuzz;

import io.dma4j.api.CoherentBuffer;
import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.consumers.nvme.NvmeDriver;
import io.dma4j.hw.nvme.Nvme;
import io.dma4j.platform.Machine;
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
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzing the NVMe controller model's PRP and SGL walker with random submission entries:
 * opcodes, PSDT, LBA ranges and data pointers that aim into a mapped buffer, at odd offsets,
 * into a descriptor page full of random PRP entries or SGL descriptors, or anywhere. The
 * controller must always answer with an NVMe status (never throw, never hang); behind IOMMU
 * strict it reaches only what is mapped (a page beside the buffer, not mapped, keeps its
 * bytes); and the driver still writes and reads correctly afterwards.
 */
class NvmeSubmissionFuzzTest {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long DATA = 64 * 1024;
    private static final Set<Integer> STATUSES = Set.of(Nvme.SC_SUCCESS, Nvme.SC_INVALID_OPCODE, Nvme.SC_INVALID_FIELD, Nvme.SC_DATA_TRANSFER_ERROR,
            Nvme.SC_DATA_SGL_LENGTH_INVALID, Nvme.SC_SGL_DESCRIPTOR_TYPE_INVALID, Nvme.SC_INVALID_PRP_OFFSET, Nvme.SC_LBA_OUT_OF_RANGE);

    /** One submission: what the pointers aim at is chosen by {@code aim1}/{@code aim2}; {@code words} fill the descriptor page. */
    record Sqe(int opcode, int psdt, long lba, int blocks, int aim1, int aim2, long off1, long off2, List<Long> words) {
    }

    @Provide
    Arbitrary<List<Sqe>> submissions() {
        Arbitrary<Integer> opcode = Arbitraries.oneOf(Arbitraries.of(Nvme.IO_WRITE, Nvme.IO_READ), Arbitraries.integers().between(0, 255));
        Arbitrary<Long> lba = Arbitraries.oneOf(Arbitraries.longs().between(0, 4096), Arbitraries.longs());
        Arbitrary<Long> word = Arbitraries.oneOf(Arbitraries.longs(), Arbitraries.longs().between(0, DATA + 8192),
                Arbitraries.integers().between(0, 15).map(i -> -1L - i));
        Arbitrary<Sqe> sqe = Combinators.combine(opcode, Arbitraries.integers().between(0, 3), lba, Arbitraries.integers().between(0, 255),
                Arbitraries.integers().between(0, 24), Arbitraries.longs().between(0, DATA + 4096),
                Arbitraries.longs().between(0, DATA + 4096), word.list().ofMaxSize(32))
                .as((op, psdt, l, blocks, aims, off1, off2, words) -> new Sqe(op, psdt, l, blocks, aims % 5, aims / 5, off1, off2, words));
        return sqe.list().ofMinSize(1).ofMaxSize(12);
    }

    @Property
    void theControllerAnswersEverySubmissionAndReachesOnlyWhatIsMapped(@ForAll("submissions") List<Sqe> sqes) {
        try (Machine machine = Machine.createDefault();
             DmaRuntime rt = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(Map.of(
                     "dma4j.backend.nvme0", "iommu", "dma4j.iommu.mode", "strict", "dma4j.debug", "false"))).build()) {
            PhysicalAddressSpace cpu = machine.addressSpace();
            DmaMapper mapper = rt.mapper("nvme0");
            long block = machine.pageAllocator().allocPages(5); // 128 KiB: the data buffer, then a page never mapped
            long sentinel = block + DATA;
            for (long o = 0; o < 4096; o += 8) {
                cpu.writeLong(sentinel + o, 0x5E47_1E15_0000_0000L | o);
            }
            // mapped first, so it is the highest IOVA below 4 GiB and nothing is mapped just above it
            long dma = mapper.mapPhys(block, DATA, DmaDirection.BIDIRECTIONAL, 0);
            NvmeDriver nvme = new NvmeDriver(mapper, cpu);
            CoherentBuffer list = nvme.descriptorPage();
            for (Sqe s : sqes) {
                MemorySegment page = list.cpu();
                page.fill((byte) 0);
                for (int i = 0; i < s.words().size(); i++) {
                    long w = s.words().get(i);
                    page.set(LONG, 8L * i, w >= 0 && w <= DATA + 8192 ? dma + w : w); // small values aim into the buffer (and past it)
                }
                long d1 = aim(s.aim1(), s.off1(), dma, list.dmaAddress());
                long d2 = aim(s.aim2(), s.off2(), dma, list.dmaAddress());
                if (s.psdt() == Nvme.PSDT_SGL && s.aim2() == 4) {
                    d2 = (s.off2() & 0xFFFF_FFF0L) | ((long) ((s.off1() & 3) << 4) << 56); // an SGL descriptor's length and type
                }
                int status = nvme.submitIo(s.opcode(), s.psdt(), s.lba(), s.blocks(), d1, d2);
                assertThat(STATUSES).as("status 0x%x for %s", status, s).contains(status);
            }
            for (long o = 0; o < 4096; o += 8) {
                assertThat(cpu.readLong(sentinel + o)).as("the unmapped page beside the buffer, at +0x%x", o).isEqualTo(0x5E47_1E15_0000_0000L | o);
            }
            nvme.releaseDescriptorPages();
            long src = machine.pageAllocator().allocPages(1);
            long dst = machine.pageAllocator().allocPages(1);
            for (long o = 0; o < 8192; o += 8) {
                cpu.writeLong(src + o, o * 31 + 1);
            }
            assertThat(nvme.write(10, new long[] {src}, new long[] {8192}, 1)).as("the driver still writes").isZero();
            assertThat(nvme.read(10, new long[] {dst}, new long[] {8192}, 1)).as("and reads").isZero();
            for (long o = 0; o < 8192; o += 8) {
                assertThat(cpu.readLong(dst + o)).isEqualTo(o * 31 + 1);
            }
            mapper.unmapPhys(dma, DATA, DmaDirection.BIDIRECTIONAL, 0);
            nvme.close();
        }
    }

    /** 0: into the buffer, 1: the descriptor page, 2: past the buffer (unmapped), 3: anywhere, 4: zero. */
    private static long aim(int aim, long off, long dma, long listDma) {
        return switch (aim) {
            case 0 -> dma + Math.min(off, DATA - 1);
            case 1 -> listDma + (off & 0xFF8);
            case 2 -> dma + DATA + (off & 0xFFF);
            case 3 -> off * 0x9E37_79B9_7F4A_7C15L;
            default -> 0;
        };
    }
}
