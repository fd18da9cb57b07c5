package io.dma4j.cli;

import io.dma4j.consumers.vfio.GuestMemory;
import io.dma4j.consumers.vfio.LiveMigration;
import io.dma4j.consumers.vfio.Mlx5VfDriver;
import io.dma4j.consumers.vfio.Mlx5VfMigration;
import io.dma4j.consumers.vfio.Registration;
import io.dma4j.devices.mlx5vf.Mlx5VfModel;
import io.dma4j.platform.ByteSize;
import io.dma4j.platform.Machine;
import io.dma4j.platform.description.MachineDescription;
import io.dma4j.platform.description.MachineDescriptionParser;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;
import io.dma4j.spi.Metric;
import io.dma4j.spi.Metrics;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code dmactl run migrate}: VFIO live migration of an mlx5-like VF to a second one. The source
 * VF runs a workload (state changes and DMA writes into the guest's memory, which the page
 * tracker reports) at a dirtying rate proportional to the bytes each precopy round moves — a
 * VF dirtying at a fixed rate against a link of fixed speed. Precopy rounds run until the dirty
 * bytes fall to the threshold or the round limit, then stop-copy; the destination loads the
 * stream, and its state and the guest memory are compared byte for byte with the source's.
 */
final class MigrateRun {
    private static final List<Metric> METRICS = List.of(Metrics.IOVA_ALLOCS, Metrics.IOTLB_RANGE_INVALIDATIONS, Metrics.IOTLB_FULL_FLUSHES,
            Metrics.IOTLB_SYNC_MAPS, Metrics.FAULTS);

    private MigrateRun() {
    }

    /** What to run. */
    record Options(String source, String destination, long stateSize, long guestSize, double dirtyRate, long threshold, int maxRounds,
                   Registration registration, boolean fragmented, long seed, boolean json, Path report, List<String> args) {
    }

    /** Runs the migration; returns the exit code (1 when the destination's state or guest memory differs). */
    static int run(RuntimeConfig config, Path machineFile, Options o, PrintWriter out, PrintWriter err) throws java.io.IOException {
        MachineDescription d = machineFile == null ? MachineDescriptionParser.defaultDescription() : MachineDescriptionParser.parse(machineFile);
        d = withState(d, o);
        try (Machine m = Machine.create(d);
             DmaRuntime rt = DmaRuntime.builder().machine(m).config(config).build()) {
            Mlx5VfModel srcModel = (Mlx5VfModel) m.device(o.source()).behaviour();
            Mlx5VfModel dstModel = (Mlx5VfModel) m.device(o.destination()).behaviour();
            long[] holes = o.fragmented() ? fragment(m, o.stateSize()) : new long[0];
            RunSampler sampler = o.report() == null ? null : new RunSampler(rt, o.source(), 50);
            RunReport progress = new RunReport(err, o.json());
            long start = System.nanoTime();
            LiveMigration.Result r;
            boolean stateEqual;
            Map<String, Object> summary = new LinkedHashMap<>();
            try (Mlx5VfDriver src = new Mlx5VfDriver(rt.mapper(o.source()), m.addressSpace(), m.pageAllocator(), o.registration());
                 Mlx5VfDriver dst = new Mlx5VfDriver(rt.mapper(o.destination()), m.addressSpace(), m.pageAllocator(), o.registration());
                 Mlx5VfMigration ms = new Mlx5VfMigration(src);
                 Mlx5VfMigration md = new Mlx5VfMigration(dst);
                 GuestMemory guest = GuestMemory.allocate(m.pageAllocator(), m.addressSpace(), o.guestSize());
                 GuestMemory destGuest = GuestMemory.allocate(m.pageAllocator(), m.addressSpace(), o.guestSize())) {
                guest.mapFor(src.mapper());
                src.setWorkloadWindow(guest.dma(), guest.size());
                srcModel.run((int) Math.min(1 << 20, Math.round(o.dirtyRate() * o.stateSize() / (1 << 20)))); // the VF was busy before
                long[] lastRound = new long[1];
                r = LiveMigration.migrate(ms, md, guest, destGuest,
                        round -> srcModel.run((int) Math.min(1 << 20, Math.round(o.dirtyRate() * lastRound[0] / (1 << 20)))),
                        new LiveMigration.Config(o.threshold(), o.maxRounds(), 1 << 20), (round, bytes, dirty) -> {
                            lastRound[0] = bytes;
                            if (progress.due()) {
                                progress.show(String.format(Locale.ROOT, "precopy round %d: %s moved, %s were dirty", round, ByteSize.format(bytes),
                                        ByteSize.format(dirty)));
                            }
                        });
                progress.clear();
                stateEqual = Arrays.equals(srcModel.stateSnapshot(), dstModel.stateSnapshot());
                double secs = (System.nanoTime() - start) / 1e9;
                summary.put("source", o.source());
                summary.put("destination", o.destination());
                summary.put("backend", rt.backendFor(o.source()).name());
                summary.put("api", o.registration().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'));
                summary.put("stateBytes", o.stateSize());
                summary.put("guestBytes", o.guestSize());
                summary.put("stateEqual", stateEqual);
                summary.put("guestMemoryEqual", r.guestMemoryEqual());
                summary.put("precopyRounds", r.precopyRounds());
                summary.put("bytesPerRound", r.bytesPerRound());
                summary.put("stopCopyBytes", r.stopCopyBytes());
                summary.put("streamBytes", r.streamBytes());
                summary.put("seconds", secs);
                summary.put("guestWrites", srcModel.guestWrites());
                summary.put("guestPagesReported", r.guestPagesReported());
                summary.put("guestPagesCopied", r.guestPagesCopied());
                summary.put("buffersAllocated", src.buffersAllocated() + dst.buffersAllocated());
                summary.put("buffersRegistered", src.registrations() + dst.registrations());
                long pages = src.pagesRegistered() + dst.pagesRegistered();
                long regs = src.registrations() + dst.registrations();
                summary.put("pagesRegistered", pages);
                summary.put("bookkeepingBytesPerPage", pages == 0 ? 0.0 : (double) (src.bookkeepingRegisteredBytes() + dst.bookkeepingRegisteredBytes()) / pages);
                summary.put("peakBookkeepingBytes", src.peakBookkeepingBytes() + dst.peakBookkeepingBytes());
                summary.put("iovaAllocationsPerBuffer", regs == 0 ? 0.0 : (double) (src.iovaAllocations() + dst.iovaAllocations()) / regs);
                summary.put("fallbackBuffers", src.fallbackBuffers() + dst.fallbackBuffers());
                summary.put("commandErrors", src.commandErrors() + dst.commandErrors());
                summary.put("deviceErrors", srcModel.deviceErrors() + dstModel.deviceErrors());
                summary.put("deviceFaults", m.device(o.source()).port().faultCount() + m.device(o.destination()).port().faultCount());
            }
            for (long p : holes) {
                m.pageAllocator().freePages(p);
            }
            RunReport.addFigures(summary, rt.statistics(o.source()), METRICS);
            String heading = String.format(Locale.ROOT,
                    "run migrate: %s -> %s (backend %s), api %s, %s state, %s guest memory, %.0f dirtying steps per MiB moved, threshold %s, at most %d rounds",
                    o.source(), o.destination(), summary.get("backend"), summary.get("api"), ByteSize.format(o.stateSize()), ByteSize.format(o.guestSize()),
                    o.dirtyRate(), ByteSize.format(o.threshold()), o.maxRounds());
            if (sampler != null) {
                sampler.close();
                HtmlReport.write(o.report(), heading, HtmlReport.configurationOf(rt, o.args()), summary, Map.of(), sampler);
            }
            RunReport.print(out, o.json(), heading, summary);
            return stateEqual && r.guestMemoryEqual() ? 0 : 1;
        }
    }

    /**
     * Leaves the page allocator with single free pages between allocated ones, enough for every
     * data buffer of the run: buffers then get scattered pages (as on a machine that has run a
     * while), the classic design's worst case of one scatter-list entry per page. Returns the
     * pages kept allocated.
     */
    private static long[] fragment(Machine m, long stateSize) {
        int pairs = (int) (3 * stateSize / 4096 + 2048);
        long[] kept = new long[pairs];
        long[] freed = new long[pairs];
        for (int i = 0; i < pairs; i++) {
            freed[i] = m.pageAllocator().allocPages(0);
            kept[i] = m.pageAllocator().allocPages(0);
        }
        for (long p : freed) {
            m.pageAllocator().freePages(p);
        }
        return kept;
    }

    /** The description with both VFs given the state size and seeds (the model options). */
    private static MachineDescription withState(MachineDescription d, Options o) {
        List<MachineDescription.DeviceSpec> devices = new ArrayList<>();
        boolean srcFound = false;
        boolean dstFound = false;
        for (MachineDescription.DeviceSpec s : d.devices()) {
            boolean isSrc = s.name().equals(o.source());
            boolean isDst = s.name().equals(o.destination());
            if ((isSrc || isDst) && !s.model().equals("mlx5-vf")) {
                throw new UsageException(String.format("--%s %s: a %s, not an mlx5 VF (mlx5 VFs: %s)", isSrc ? "device" : "destination", s.name(), s.model(),
                        vfs(d)));
            }
            if (isSrc || isDst) {
                Map<String, String> opts = new HashMap<>(s.modelOptions());
                opts.put("stateSize", Long.toString(o.stateSize()));
                opts.put("seed", Long.toString(isSrc ? o.seed() : o.seed() + 1));
                opts.putIfAbsent("maxSaveSize", Long.toString(Math.max(64L << 20, 2 * o.stateSize())));
                s = s.withModelOptions(opts);
            }
            srcFound |= isSrc;
            dstFound |= isDst;
            devices.add(s);
        }
        if (!srcFound || !dstFound) {
            throw new UsageException(String.format("--%s %s: no such device (mlx5 VFs: %s)", srcFound ? "destination" : "device",
                    srcFound ? o.destination() : o.source(), vfs(d)));
        }
        return d.withDevices(devices);
    }

    private static String vfs(MachineDescription d) {
        StringBuilder b = new StringBuilder();
        for (MachineDescription.DeviceSpec s : d.devices()) {
            if (s.model().equals("mlx5-vf")) {
                b.append(b.isEmpty() ? "" : ", ").append(s.name());
            }
        }
        return b.isEmpty() ? "none" : b.toString();
    }
}
