package io.dma4j.consumers.vfio;

import io.dma4j.api.DmaDirection;
import io.dma4j.devices.mlx5vf.Mlx5VfModel;
import io.dma4j.hw.mlx5vf.Mlx5Vf;
import io.dma4j.platform.Machine;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;
import io.dma4j.spi.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.dma4j.consumers.vfio.MigrationState.ERROR;
import static io.dma4j.consumers.vfio.MigrationState.PRE_COPY;
import static io.dma4j.consumers.vfio.MigrationState.PRE_COPY_P2P;
import static io.dma4j.consumers.vfio.MigrationState.RESUMING;
import static io.dma4j.consumers.vfio.MigrationState.RUNNING;
import static io.dma4j.consumers.vfio.MigrationState.RUNNING_P2P;
import static io.dma4j.consumers.vfio.MigrationState.STOP;
import static io.dma4j.consumers.vfio.MigrationState.STOP_COPY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * VFIO mlx5 live migration end to end: the VF model saves and loads real state through data
 * buffers the driver registers with the two-step IOVA API (or the classic scatterlist path),
 * the migration state machine of drivers/vfio/pci/mlx5/main.c over the core's path table
 * (drivers/vfio/vfio_main.c, include/uapi/linux/vfio.h, v6.16), and the dirty-page tracker.
 */
class Mlx5VfMigrationTest {
    private static final int PAGE = 4096;
    private Machine machine;
    private DmaRuntime rt;
    private Mlx5VfDriver src;
    private Mlx5VfDriver dst;
    private Mlx5VfModel srcModel;
    private Mlx5VfModel dstModel;
    private Mlx5VfMigration ms;
    private Mlx5VfMigration md;
    private GuestMemory guest;
    private GuestMemory destGuest;
    private final Arena arena = Arena.ofConfined();

    private void setUp(String backend, Registration registration) {
        Map<String, String> cfg = new HashMap<>();
        for (String dev : List.of("mlx5vf0", "mlx5vf1")) {
            switch (backend) {
                case "direct" -> cfg.put("dma4j.backend." + dev, "direct");
                case "strict", "lazy" -> cfg.put("dma4j.backend." + dev, "iommu");
                default -> throw new IllegalArgumentException(backend);
            }
        }
        if (!backend.equals("direct")) {
            cfg.put("dma4j.iommu.mode", backend);
        }
        machine = Machine.createDefault();
        rt = DmaRuntime.builder().machine(machine).config(RuntimeConfig.of(cfg)).clock(new ManualClock()).build();
        srcModel = (Mlx5VfModel) machine.device("mlx5vf0").behaviour();
        dstModel = (Mlx5VfModel) machine.device("mlx5vf1").behaviour();
        src = new Mlx5VfDriver(rt.mapper("mlx5vf0"), machine.addressSpace(), machine.pageAllocator(), registration);
        dst = new Mlx5VfDriver(rt.mapper("mlx5vf1"), machine.addressSpace(), machine.pageAllocator(), registration);
        ms = new Mlx5VfMigration(src);
        md = new Mlx5VfMigration(dst);
        guest = GuestMemory.allocate(machine.pageAllocator(), machine.addressSpace(), 1 << 20);
        destGuest = GuestMemory.allocate(machine.pageAllocator(), machine.addressSpace(), 1 << 20);
        guest.mapFor(src.mapper());
        src.setWorkloadWindow(guest.dma(), guest.size());
    }

    @AfterEach
    void tearDown() {
        if (machine != null) {
            ms.close();
            md.close();
            guest.close();
            destGuest.close();
            src.close();
            dst.close();
            assertThat(src.bookkeepingBytes()).as("every data buffer freed").isZero();
            assertThat(rt.debugReports()).as("DMA-debug stays silent on correct use").isEmpty();
            rt.close();
            machine.close();
        }
        arena.close();
    }

    // --- the state machine -------------------------------------------------------------------

    /** The arcs mlx5vf_pci_step_device_state_locked implements (drivers/vfio/pci/mlx5/main.c, v6.16). */
    private static final Map<MigrationState, Set<MigrationState>> KERNEL_ARCS = new EnumMap<>(Map.of(
            RUNNING, EnumSet.of(RUNNING_P2P, PRE_COPY),
            RUNNING_P2P, EnumSet.of(RUNNING, STOP, PRE_COPY_P2P),
            STOP, EnumSet.of(RUNNING_P2P, STOP_COPY, RESUMING),
            STOP_COPY, EnumSet.of(STOP),
            RESUMING, EnumSet.of(STOP),
            PRE_COPY, EnumSet.of(RUNNING, PRE_COPY_P2P),
            PRE_COPY_P2P, EnumSet.of(PRE_COPY, RUNNING_P2P, STOP_COPY),
            ERROR, EnumSet.noneOf(MigrationState.class)));

    private static final List<MigrationState> STATES = List.of(RUNNING, RUNNING_P2P, STOP, STOP_COPY, RESUMING, PRE_COPY, PRE_COPY_P2P);

    @Test
    void everyArcIsTakenAndEveryOtherStepIsRefusedWithoutAChange() {
        setUp("strict", Registration.TWO_STEP);
        int arcs = 0;
        for (MigrationState from : STATES) {
            for (MigrationState to : MigrationState.values()) {
                ms.reset();
                ms.setState(from);
                assertThat(ms.state()).isEqualTo(from);
                if (KERNEL_ARCS.get(from).contains(to)) {
                    ms.step(to);
                    assertThat(ms.state()).as("%s -> %s", from, to).isEqualTo(to);
                    arcs++;
                } else {
                    long taken = ms.arcsTaken();
                    assertThatThrownBy(() -> ms.step(to)).isInstanceOf(VfioMigrationException.class)
                            .hasMessage("EINVAL: mlx5vf0: no arc from %s to %s", from, to)
                            .extracting(e -> ((VfioMigrationException) e).errno()).isEqualTo("EINVAL");
                    assertThat(ms.state()).as("refused %s -> %s changes nothing", from, to).isEqualTo(from);
                    assertThat(ms.arcsTaken()).isEqualTo(taken);
                }
            }
        }
        assertThat(arcs).isEqualTo(15);
    }

    @Test
    void arcsSuspendAndResumeTheTwoSidesOfTheVf() {
        setUp("strict", Registration.TWO_STEP);
        ms.step(RUNNING_P2P);
        assertThat(srcModel.initiatorSuspended()).isTrue();
        assertThat(srcModel.responderSuspended()).isFalse();
        ms.step(STOP);
        assertThat(srcModel.responderSuspended()).isTrue();
        int before = srcModel.run(20);
        assertThat(before).as("a stopped VF writes no guest memory").isZero();
        ms.step(RUNNING_P2P);
        assertThat(srcModel.responderSuspended()).isFalse();
        assertThat(srcModel.initiatorSuspended()).isTrue();
        ms.step(RUNNING);
        assertThat(srcModel.initiatorSuspended()).isFalse();
        assertThat(srcModel.run(20)).as("a running VF writes guest memory again").isEqualTo(20);
    }

    /**
     * vfio_mig_get_next_state: every path the core takes uses only the driver's arcs and is a
     * shortest one; the uapi refuses PRE_COPY and PRE_COPY_P2P from STOP_COPY and RESUMING
     * (include/uapi/linux/vfio.h, "The PRE_COPY states ... only from RUNNING/RUNNING_P2P").
     */
    @Test
    void setStateWalksAShortestPathOfArcsAndRefusesWhatTheUapiForbids() {
        setUp("strict", Registration.TWO_STEP);
        for (MigrationState from : STATES) {
            for (MigrationState to : STATES) {
                boolean forbidden = (from == STOP_COPY || from == RESUMING) && (to == PRE_COPY || to == PRE_COPY_P2P);
                if (forbidden) {
                    assertThat(Mlx5VfMigration.nextState(from, to)).isEqualTo(ERROR);
                    ms.reset();
                    ms.setState(from);
                    assertThatThrownBy(() -> ms.setState(to)).isInstanceOf(VfioMigrationException.class)
                            .hasMessage("EINVAL: mlx5vf0: cannot move from %s to %s", from, to);
                    assertThat(ms.state()).isEqualTo(from);
                    continue;
                }
                List<MigrationState> path = new ArrayList<>();
                for (MigrationState at = from; at != to; at = Mlx5VfMigration.nextState(at, to)) {
                    MigrationState next = Mlx5VfMigration.nextState(at, to);
                    assertThat(KERNEL_ARCS.get(at)).as("%s -> %s goes through %s -> %s", from, to, at, next).contains(next);
                    path.add(next);
                    assertThat(path).hasSizeLessThan(8);
                }
                assertThat(path).as("path %s -> %s", from, to).hasSize(shortest(from, to));
            }
        }
        ms.reset();
        long before = ms.arcsTaken();
        ms.setState(STOP_COPY);
        assertThat(ms.arcsTaken() - before).as("RUNNING -> RUNNING_P2P -> STOP -> STOP_COPY").isEqualTo(3);
    }

    private static int shortest(MigrationState from, MigrationState to) {
        Map<MigrationState, Integer> dist = new EnumMap<>(MigrationState.class);
        ArrayDeque<MigrationState> q = new ArrayDeque<>(List.of(from));
        dist.put(from, 0);
        while (!q.isEmpty()) {
            MigrationState s = q.poll();
            for (MigrationState n : KERNEL_ARCS.get(s)) {
                if (!dist.containsKey(n)) {
                    dist.put(n, dist.get(s) + 1);
                    q.add(n);
                }
            }
        }
        return dist.get(to);
    }

    @Test
    void errorIsLeftOnlyByReset() {
        setUp("strict", Registration.TWO_STEP);
        md.setState(RESUMING);
        assertThatThrownBy(() -> md.resumeStream().write(segment(header(8, 0, 0x77)), 0, 16)).isInstanceOf(VfioMigrationException.class);
        assertThatThrownBy(() -> md.setState(STOP)).isInstanceOf(VfioMigrationException.class).hasMessage("EIO: mlx5vf1: the resuming stream failed");
        assertThat(md.state()).isEqualTo(ERROR);
        assertThatThrownBy(() -> md.setState(RUNNING)).isInstanceOf(VfioMigrationException.class)
                .hasMessage("EINVAL: mlx5vf1: cannot move from ERROR to RUNNING");
        assertThatThrownBy(() -> md.setState(ERROR)).isInstanceOf(VfioMigrationException.class)
                .hasMessage("EINVAL: mlx5vf1: ERROR is not a state to ask for");
        md.reset();
        assertThat(md.state()).isEqualTo(RUNNING);
        assertThat(dstModel.initiatorSuspended() || dstModel.responderSuspended()).isFalse();
    }

    // --- whole migrations ----------------------------------------------------------------------

    @ParameterizedTest(name = "{0}, {1}")
    @CsvSource({"direct, TWO_STEP", "strict, TWO_STEP", "lazy, TWO_STEP", "strict, CLASSIC", "direct, CLASSIC"})
    void liveMigrationMovesTheDeviceStateAndTheGuestMemory(String backend, Registration registration) {
        setUp(backend, registration);
        assertThat(dstModel.stateSnapshot()).as("different seeds").isNotEqualTo(srcModel.stateSnapshot());
        srcModel.run(300); // the guest was busy before the migration started
        int[] steps = {200, 50, 5};
        List<Long> dirtyPerRound = new ArrayList<>();
        LiveMigration.Result r = LiveMigration.migrate(ms, md, guest, destGuest, round -> srcModel.run(round < steps.length ? steps[round] : 0),
                new LiveMigration.Config(64 << 10, 8, 256 << 10), (round, bytes, dirty) -> dirtyPerRound.add(dirty));

        assertThat(dstModel.stateSnapshot()).as("the destination VF holds the source's state").isEqualTo(srcModel.stateSnapshot());
        assertThat(r.guestMemoryEqual()).isTrue();
        assertThat(destGuest.bytes()).isEqualTo(guest.bytes());
        assertThat(ms.state()).isEqualTo(STOP);
        assertThat(md.state()).isEqualTo(STOP);
        assertThat(r.precopyRounds()).isBetween(2, 8);
        assertThat(r.bytesPerRound().getFirst()).as("round 0 carries the whole state").isGreaterThanOrEqualTo(srcModel.stateSize());
        assertThat(r.stopCopyBytes()).as("stop-copy carries only what the last rounds dirtied").isLessThan(srcModel.stateSize() / 4);
        assertThat(r.streamBytes()).isEqualTo(r.bytesPerRound().stream().mapToLong(Long::longValue).sum() + r.stopCopyBytes());
        assertThat(r.guestPagesReported()).as("the tracker saw the VF's writes").isPositive();
        assertThat(r.guestPagesCopied()).isEqualTo(guest.size() / PAGE + r.guestPagesReported());
        assertThat(srcModel.guestWrites()).isPositive();
        assertThat(dstModel.loads()).as("one LOAD per image the source saved").isEqualTo(srcModel.saves());
        assertThat(src.commandErrors()).isZero();
        assertThat(dirtyPerRound.getFirst()).as("the initial image").isGreaterThanOrEqualTo(srcModel.stateSize());
        if (registration == Registration.TWO_STEP && !backend.equals("direct")) {
            assertThat(src.iovaAllocations()).as("one IOVA allocation per registered buffer").isEqualTo(src.registrations());
            assertThat(src.fallbackBuffers()).isZero();
        }
    }

    @Test
    void aStoppedDeviceSavesInFullAndTheDestinationLoadsIt() {
        setUp("strict", Registration.TWO_STEP);
        byte[] stream = save(ms);
        assertThat(ms.state()).isEqualTo(STOP_COPY);
        ResumeStream in = (ResumeStream) md.setState(RESUMING);
        in.write(segment(stream), 0, stream.length);
        md.setState(STOP);
        assertThat(dstModel.stateSnapshot()).isEqualTo(srcModel.stateSnapshot());
        ms.setState(STOP);
        assertThat(ms.state()).isEqualTo(STOP);
    }

    @Test
    void theStreamIsReadInAnySizeOfPiece() {
        setUp("lazy", Registration.TWO_STEP);
        SaveStream out = (SaveStream) ms.setState(STOP_COPY);
        ResumeStream in = (ResumeStream) md.setState(RESUMING);
        MemorySegment buf = arena.allocate(4099);
        long total = 0;
        for (int size = 1; ; size = size % 4099 + 7) {
            long n = out.read(buf, 0, size);
            if (n < 0) {
                break;
            }
            in.write(buf, 0, n);
            total += n;
        }
        assertThat(total).isEqualTo(out.produced());
        md.setState(STOP);
        assertThat(dstModel.stateSnapshot()).isEqualTo(srcModel.stateSnapshot());
    }

    @Test
    void precopyReusesDataBuffersOfTheSameDirection() {
        setUp("strict", Registration.TWO_STEP);
        SaveStream out = (SaveStream) ms.setState(PRE_COPY);
        assertThat(out.precopyInfo().initialBytes()).isPositive();
        drain(out);
        long allocated = src.buffersAllocated();
        for (int round = 0; round < 4; round++) {
            srcModel.run(40);
            assertThat(out.precopyInfo().dirtyBytes()).isPositive();
            assertThat(drain(out)).isPositive();
        }
        assertThat(out.reusedBuffers()).as("incremental images go to buffers already registered").isPositive();
        assertThat(src.buffersAllocated() - allocated).as("new buffers after the first round").isLessThan(4);
        assertThat(out.read(arena.allocate(16), 0, 16)).as("ENOMSG: nothing now, more later").isZero();
        ms.setState(RUNNING);
        assertThat(ms.saveStream()).isNull();
        assertThatThrownBy(() -> out.read(arena.allocate(16), 0, 16)).isInstanceOf(VfioMigrationException.class)
                .hasMessage("EINVAL: mlx5vf0: the saving stream is closed");
        assertThatThrownBy(out::precopyInfo).isInstanceOf(VfioMigrationException.class)
                .hasMessage("EINVAL: mlx5vf0: precopy information exists only in PRE_COPY and PRE_COPY_P2P");
    }

    @Test
    void theTrackedStreamAnnouncesItsStopCopySize() {
        setUp("strict", Registration.TWO_STEP);
        SaveStream out = (SaveStream) ms.setState(PRE_COPY);
        ResumeStream in = (ResumeStream) md.setState(RESUMING);
        MemorySegment buf = arena.allocate(1 << 16);
        for (long n; (n = out.read(buf, 0, buf.byteSize())) > 0;) {
            in.write(buf, 0, n);
        }
        assertThat(out.announcedStopCopySize()).isPositive();
        assertThat(in.announcedStopCopySize()).isEqualTo(out.announcedStopCopySize());
        assertThat(in.imagesLoaded()).isEqualTo(1);
    }

    // --- bad streams -----------------------------------------------------------------------------

    @Test
    void aCorruptedImageIsRefusedWithEioAndTheDestinationKeepsItsState() {
        setUp("strict", Registration.TWO_STEP);
        byte[] stream = save(ms);
        int image = imageRecord(stream);
        stream[image + MigrationStream.RECORD_HEADER + 32 + 4 + 100] ^= 0x01; // one bit of the first page's contents
        byte[] before = dstModel.stateSnapshot();
        ResumeStream in = (ResumeStream) md.setState(RESUMING);
        assertThatThrownBy(() -> in.write(segment(stream), 0, stream.length)).isInstanceOf(VfioMigrationException.class)
                .hasMessageStartingWith("EIO: mlx5vf1: LOAD_VHCA_STATE of a ").hasMessageEndingWith("-byte image failed with device status 7 (bad image)")
                .extracting(e -> ((VfioMigrationException) e).errno()).isEqualTo("EIO");
        assertThat(dstModel.stateSnapshot()).as("the device checks the whole image before it changes a byte").isEqualTo(before);
        assertThat(in.loadState()).isEqualTo(ResumeStream.LoadState.ERROR);
        assertThatThrownBy(() -> in.write(segment(stream), 0, 16)).isInstanceOf(VfioMigrationException.class)
                .hasMessage("EIO: mlx5vf1: the resuming stream failed; it accepts no more data");
        assertThatThrownBy(() -> md.setState(STOP)).isInstanceOf(VfioMigrationException.class).hasMessage("EIO: mlx5vf1: the resuming stream failed");
        assertThat(md.state()).isEqualTo(ERROR);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 10, 16, 100, 5000})
    void aTruncatedStreamIsRefusedAtResumingToStop(int missing) {
        setUp("strict", Registration.TWO_STEP);
        byte[] stream = save(ms);
        byte[] before = dstModel.stateSnapshot();
        ResumeStream in = (ResumeStream) md.setState(RESUMING);
        in.write(segment(stream), 0, stream.length - missing);
        assertThatThrownBy(() -> md.setState(STOP)).isInstanceOf(VfioMigrationException.class)
                .hasMessageStartingWith("EINVAL: mlx5vf1: truncated migration stream: it ends inside a record (")
                .extracting(e -> ((VfioMigrationException) e).errno()).isEqualTo("EINVAL");
        assertThat(md.state()).isEqualTo(ERROR);
        assertThat(dstModel.stateSnapshot()).isEqualTo(before);
        assertThat(dstModel.loads()).isZero();
    }

    @Test
    void anUnknownMandatoryRecordIsRefusedAndAnUnknownOptionalOneSkipped() {
        setUp("strict", Registration.TWO_STEP);
        ResumeStream in = (ResumeStream) md.setState(RESUMING);
        assertThatThrownBy(() -> in.write(segment(header(8, 0, 0x77)), 0, 16)).isInstanceOf(VfioMigrationException.class)
                .hasMessage("EOPNOTSUPP: mlx5vf1: unknown mandatory record tag 119 at stream byte 0")
                .extracting(e -> ((VfioMigrationException) e).errno()).isEqualTo("EOPNOTSUPP");
        md.reset();

        byte[] stream = save(ms);
        ByteArrayOutputStream withExtra = new ByteArrayOutputStream();
        withExtra.writeBytes(header(5, MigrationStream.FLAG_OPTIONAL, 0x77));
        withExtra.writeBytes(new byte[] {1, 2, 3, 4, 5});
        withExtra.writeBytes(stream);
        byte[] all = withExtra.toByteArray();
        ResumeStream in2 = (ResumeStream) md.setState(RESUMING);
        in2.write(segment(all), 0, all.length);
        md.setState(STOP);
        assertThat(dstModel.stateSnapshot()).isEqualTo(srcModel.stateSnapshot());
    }

    @Test
    void anImageLargerThanTheDeviceLoadsIsRefusedWithEnomem() {
        setUp("strict", Registration.TWO_STEP);
        ResumeStream in = (ResumeStream) md.setState(RESUMING);
        assertThatThrownBy(() -> in.write(segment(header(1L << 32, 0, MigrationStream.TAG_FW_DATA)), 0, 16))
                .isInstanceOf(VfioMigrationException.class)
                .hasMessage("ENOMEM: mlx5vf1: image record of 4294967296 bytes is larger than the device loads (4294967295)")
                .extracting(e -> ((VfioMigrationException) e).errno()).isEqualTo("ENOMEM");
        assertThatThrownBy(() -> in.write(segment(header(9, 0, MigrationStream.TAG_STOP_COPY_SIZE)), 0, 16))
                .isInstanceOf(VfioMigrationException.class).hasMessage("EIO: mlx5vf1: the resuming stream failed; it accepts no more data");
        md.reset();
        ResumeStream in2 = (ResumeStream) md.setState(RESUMING);
        assertThatThrownBy(() -> in2.write(segment(header(9, 0, MigrationStream.TAG_STOP_COPY_SIZE)), 0, 16))
                .isInstanceOf(VfioMigrationException.class).hasMessage("EINVAL: mlx5vf1: STOP_COPY_SIZE record of 9 bytes (expected: 8)");
    }

    // --- registration ----------------------------------------------------------------------------

    @Test
    void twoStepRegistrationIsOneContiguousIovaRangeWithEightBytesAPage() {
        setUp("strict", Registration.TWO_STEP);
        DataBuffer b = src.allocDataBuffer(64, DmaDirection.FROM_DEVICE);
        assertThat(b.usesIova()).isTrue();
        assertThat(b.iovaState().size()).isEqualTo(64L * PAGE);
        assertThat(b.bookkeepingBytes()).as("a u64 per page (the MTT) and the IOVA state").isEqualTo(64 * 8 + 16);
        long dma = b.iovaState().addr();
        MemorySegment got = arena.allocate(PAGE);
        long faults = machine.device("mlx5vf0").port().faultCount();
        assertThat(machine.device("mlx5vf0").port().write(dma + 63L * PAGE, got, 0, PAGE)).as("the VF reaches the last page").isEqualTo(PAGE);
        src.freeDataBuffer(b);
        assertThat(machine.device("mlx5vf0").port().write(dma + 63L * PAGE, got, 0, PAGE)).as("strict: unlinked means gone").isZero();
        assertThat(machine.device("mlx5vf0").port().faultCount()).isEqualTo(faults + 1);
        assertThat(src.iovaAllocations()).isEqualTo(1);
        assertThat(src.fallbackBuffers()).isZero();
    }

    @Test
    void withoutAnIommuTwoStepFallsBackToPerPageMappings() {
        setUp("direct", Registration.TWO_STEP);
        DataBuffer b = src.allocDataBuffer(16, DmaDirection.FROM_DEVICE);
        assertThat(b.usesIova()).isFalse();
        assertThat(src.fallbackBuffers()).isEqualTo(1);
        assertThat(src.iovaAllocations()).isZero();
        assertThat(b.bookkeepingBytes()).isEqualTo(16 * 8 + 16);
        src.freeDataBuffer(b);
    }

    @Test
    void perPageRegistrationMapsEachPageBehindTheIommuAndUnmapsThemAll() {
        setUp("strict", Registration.PER_PAGE);
        DataBuffer b = src.allocDataBuffer(16, DmaDirection.FROM_DEVICE);
        assertThat(b.usesIova()).isFalse();
        assertThat(src.fallbackBuffers()).isEqualTo(1);
        assertThat(src.iovaAllocations()).isZero();
        assertThat(b.bookkeepingBytes()).as("the MTT is the unmap record: 8 B/page + 16").isEqualTo(16 * 8 + 16);
        MemorySegment got = arena.allocate(PAGE);
        long faults = machine.device("mlx5vf0").port().faultCount();
        for (int i = 0; i < 16; i++) {
            assertThat(b.mtt(i)).as("page %d behind an IOVA of its own", i).isNotEqualTo(b.page(i));
            assertThat(machine.device("mlx5vf0").port().write(b.mtt(i), got, 0, PAGE)).as("the VF reaches page %d", i).isEqualTo(PAGE);
        }
        long last = b.mtt(15);
        src.freeDataBuffer(b);
        assertThat(machine.device("mlx5vf0").port().write(last, got, 0, PAGE)).as("strict: every page unmapped").isZero();
        assertThat(machine.device("mlx5vf0").port().faultCount()).isEqualTo(faults + 1);
    }

    @Test
    void classicRegistrationKeepsAScatterlistEntryPerContiguousRun() {
        setUp("strict", Registration.CLASSIC);
        DataBuffer b = src.allocDataBuffer(64, DmaDirection.FROM_DEVICE);
        int runs = 1;
        for (int i = 1; i < 64; i++) {
            if (b.page(i) != b.page(i - 1) + PAGE) {
                runs++;
            }
        }
        assertThat(b.sgEntries()).isEqualTo(runs);
        assertThat(b.bookkeepingBytes()).as("struct scatterlist is 32 bytes on x86-64").isEqualTo(32L * runs);
        assertThat(src.iovaAllocations()).isZero();
        src.freeDataBuffer(b);
    }

    @Test
    void aSaveIntoADestroyedKeyFailsOnTheDevice() {
        setUp("strict", Registration.TWO_STEP);
        DataBuffer b = src.allocDataBuffer(4, DmaDirection.FROM_DEVICE);
        int key = b.mkey();
        src.freeDataBuffer(b);
        long errors = srcModel.deviceErrors();
        assertThatThrownBy(() -> src.command(Mlx5Vf.CMD_SAVE_VHCA_STATE, key, 4L * PAGE, 0, 0, 0, "SAVE_VHCA_STATE"))
                .isInstanceOf(VfioMigrationException.class).hasMessageContaining("SAVE_VHCA_STATE");
        assertThat(srcModel.deviceErrors()).isEqualTo(errors + 1);
    }

    @Test
    void aSaveIntoATooSmallBufferOrThroughAStaleMttEntryIsADeviceErrorNeverAStrayWrite() {
        setUp("strict", Registration.TWO_STEP);
        DataBuffer small = src.allocDataBuffer(4, DmaDirection.FROM_DEVICE);
        int token = src.submitAsync(Mlx5Vf.CMD_SAVE_VHCA_STATE, small.mkey(), small.capacity(), 0, "SAVE_VHCA_STATE");
        Mlx5VfDriver.Event e = src.awaitEvent(token, "SAVE_VHCA_STATE");
        assertThat(e.status()).isEqualTo(Mlx5Vf.ST_BAD_SIZE);
        assertThat(e.out1()).as("the size the image needs").isEqualTo(Mlx5Vf.imageBytes((int) (srcModel.stateSize() / PAGE)));
        src.freeDataBuffer(small);

        DataBuffer gone = src.allocDataBuffer(1, DmaDirection.FROM_DEVICE);
        long staleIova = gone.iovaState().addr();
        long stalePage = gone.page(0);
        int pages = (int) ((Mlx5Vf.imageBytes((int) (srcModel.stateSize() / PAGE)) + PAGE - 1) / PAGE);
        DataBuffer b = src.allocDataBuffer(pages, DmaDirection.FROM_DEVICE); // before the free: the page is not reused for it
        src.freeDataBuffer(gone);
        machine.addressSpace().writeLong(stalePage, 0x5afe5afeL);
        byte[] before = new byte[PAGE];
        machine.addressSpace().read(stalePage, MemorySegment.ofArray(before), 0, PAGE);
        b.mkeyIn.cpu().set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), Mlx5Vf.MKEY_IN_HEADER + 8L * 10, staleIova);
        int key = (int) src.command(Mlx5Vf.CMD_CREATE_MKEY, 0, b.mkeyIn.dmaAddress(), pages, 0, 0, "CREATE_MKEY");
        long faults = machine.device("mlx5vf0").port().faultCount();
        token = src.submitAsync(Mlx5Vf.CMD_SAVE_VHCA_STATE, key, b.capacity(), 0, "SAVE_VHCA_STATE");
        assertThat(src.awaitEvent(token, "SAVE_VHCA_STATE").status()).isEqualTo(Mlx5Vf.ST_DMA_ERROR);
        assertThat(machine.device("mlx5vf0").port().faultCount()).as("the stale entry faulted in the IOMMU").isGreaterThan(faults);
        byte[] after = new byte[PAGE];
        machine.addressSpace().read(stalePage, MemorySegment.ofArray(after), 0, PAGE);
        assertThat(after).as("the page once behind the stale IOVA").isEqualTo(before);
        src.command(Mlx5Vf.CMD_DESTROY_MKEY, key, 0, 0, 0, 0, "DESTROY_MKEY");
        src.freeDataBuffer(b);
        assertThat(src.commandErrors()).isEqualTo(2);
    }

    @Test
    void badSizesAreRefusedWithTheRule() {
        setUp("strict", Registration.TWO_STEP);
        assertThatThrownBy(() -> src.allocDataBuffer(0, DmaDirection.FROM_DEVICE)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0");
        assertThatThrownBy(() -> GuestMemory.allocate(machine.pageAllocator(), machine.addressSpace(), 12288))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("guest memory: 12288 bytes (expected: a power of two from 4KiB to 4MiB)");
        assertThatThrownBy(() -> new LiveMigration.Config(-1, 1, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("dirtyThreshold -1, maxRounds 1, pipeBytes 1 (expected: >= 0, >= 0, > 0)");
    }

    // --- the dirty-page tracker --------------------------------------------------------------------

    /** vfio_combine_iova_ranges (drivers/vfio/vfio_main.c, v6.16): the smallest gap goes first. */
    @Test
    void rangesAreCombinedSmallestGapFirst() {
        List<PageTracker.Range> in = List.of(new PageTracker.Range(0x10_0000, 0x1000), new PageTracker.Range(0, 0x1000),
                new PageTracker.Range(0x2000, 0x1000), new PageTracker.Range(0x40_0000, 0x1000), new PageTracker.Range(0x100_0000, 0x1000));
        // gaps: 0x1000 (0..0x2000), 0xfd000, 0x2ff000, 0xbff000
        assertThat(PageTracker.combine(in, 4)).containsExactly(new PageTracker.Range(0, 0x3000), new PageTracker.Range(0x10_0000, 0x1000),
                new PageTracker.Range(0x40_0000, 0x1000), new PageTracker.Range(0x100_0000, 0x1000));
        assertThat(PageTracker.combine(in, 2)).containsExactly(new PageTracker.Range(0, 0x40_1000), new PageTracker.Range(0x100_0000, 0x1000));
        assertThat(PageTracker.combine(in, 1)).containsExactly(new PageTracker.Range(0, 0x100_1000));
        assertThatThrownBy(() -> PageTracker.combine(List.of(new PageTracker.Range(5, 0)), 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("range 0x5 (+0x0): empty or wrapping");
    }

    @Test
    void theTrackerReportsTheVfWritesOnceAndClampsItsPageSize() {
        setUp("strict", Registration.TWO_STEP);
        List<PageTracker.Range> r = List.of(new PageTracker.Range(guest.dma(), guest.size()));
        try (PageTracker huge = PageTracker.start(src, r, 1L << 30)) {
            assertThat(huge.pageSize()).as("the device's largest").isEqualTo(2L << 20);
        }
        try (PageTracker t = PageTracker.start(src, r, 512)) {
            assertThat(t.pageSize()).as("the device's smallest").isEqualTo(PAGE);
            long[] bitmap = new long[(int) (guest.size() / PAGE / 64)];
            assertThat(t.readAndClear(guest.dma(), guest.size(), bitmap)).isZero();
            int writes = srcModel.run(30);
            assertThat(writes).isEqualTo(30);
            long reported = t.readAndClear(guest.dma(), guest.size(), bitmap);
            long bits = 0;
            for (long w : bitmap) {
                bits += Long.bitCount(w);
            }
            assertThat(reported).isBetween(1L, 30L).isEqualTo(bits);
            assertThat(t.readAndClear(guest.dma(), guest.size(), new long[bitmap.length])).as("cleared on the device").isZero();
            assertThatThrownBy(() -> t.readAndClear(guest.dma(), guest.size(), new long[1])).isInstanceOf(IllegalArgumentException.class);
        }
    }

    // --- helpers -----------------------------------------------------------------------------------

    /** Stop-copy: the whole save stream of {@code m} (also the migration fault walk's source side). */
    static byte[] save(Mlx5VfMigration m) {
        SaveStream out = (SaveStream) m.setState(STOP_COPY);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(1 << 16);
            for (long n; (n = out.read(buf, 0, buf.byteSize())) > 0;) {
                all.writeBytes(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE));
            }
        }
        return all.toByteArray();
    }

    private long drain(SaveStream out) {
        MemorySegment buf = arena.allocate(1 << 16);
        long total = 0;
        for (long n; (n = out.read(buf, 0, buf.byteSize())) > 0;) {
            total += n;
        }
        return total;
    }

    /** The offset of the first FW_DATA record. */
    private static int imageRecord(byte[] stream) {
        ByteBuffer b = ByteBuffer.wrap(stream).order(ByteOrder.LITTLE_ENDIAN);
        int at = 0;
        while (b.getInt(at + 12) != MigrationStream.TAG_FW_DATA) {
            at += MigrationStream.RECORD_HEADER + (int) b.getLong(at);
        }
        return at;
    }

    private static byte[] header(long size, int flags, int tag) {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(size).putInt(flags).putInt(tag).array();
    }

    private MemorySegment segment(byte[] bytes) {
        MemorySegment s = arena.allocate(Math.max(1, bytes.length));
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, s, 0, bytes.length);
        return s;
    }
}
