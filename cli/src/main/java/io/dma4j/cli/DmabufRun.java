package io.dma4j.cli;

import io.dma4j.consumers.dmabuf.NvmeDmaBufImporter;
import io.dma4j.consumers.dmabuf.VfioBarExporter;
import io.dma4j.consumers.nvme.NvmeDriver;
import io.dma4j.consumers.rdma.DmaBufMr;
import io.dma4j.consumers.rdma.RnicDriver;
import io.dma4j.devices.rnic.RnicModel;
import io.dma4j.hw.nvme.Nvme;
import io.dma4j.hw.rnic.Rnic;
import io.dma4j.platform.ByteSize;
import io.dma4j.platform.Machine;
import io.dma4j.platform.device.Device;
import io.dma4j.runtime.DmaRuntime;

import java.io.PrintWriter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.zip.CRC32;

/**
 * {@code dmactl run dmabuf}: an exporter (a GPU-like device's memory BAR as a dma-buf) and two
 * importers doing I/O through it — the NVMe controller reading its namespace into the GPU's
 * memory, the RNIC sending from the GPU's memory to its peer with RDMA WRITE — while a second
 * thread revokes and restores the buffer at a rate (memory decode off and on, or a device
 * reset). Every byte of every completed operation is verified; during each decode-off window
 * the buffer's CRC must not change (no access after a revoke reaches the memory). With a
 * non-zero rate, the run waits half-way for the first revoke, so every such run sees one.
 */
final class DmabufRun {
    /** What to run. */
    record Options(String exporter, long size, int requests, long min, long max, double revokeRate, String mode, long seed, boolean json,
                   java.nio.file.Path report, java.util.List<String> args) {
    }

    private DmabufRun() {
    }

    static int run(DmaRuntime rt, Options o, PrintWriter out, PrintWriter err) throws java.io.IOException, InterruptedException {
        Machine m = rt.machine();
        Device gpu = m.device(o.exporter());
        if (gpu.bars().stream().noneMatch(b -> b.index() == 2 && b.kind() == io.dma4j.platform.pci.Bar.Kind.MEMORY)) {
            throw new UsageException("--device " + o.exporter() + ": no memory BAR 2 to export");
        }
        if (o.size() > gpu.bar(2).size()) {
            throw new UsageException("--size " + ByteSize.format(o.size()) + " (expected: at most the BAR's " + ByteSize.format(gpu.bar(2).size()) + ")");
        }
        RunSampler sampler = o.report() == null ? null : new RunSampler(rt, "nvme0", 50);
        try (NvmeDriver nvme = new NvmeDriver(rt.mapper("nvme0"), m.addressSpace());
             RnicDriver nic = new RnicDriver(rt.mapper("rnic0"), m.addressSpace())) {
            if (o.max() > nvme.maxTransferBytes()) {
                throw new UsageException("--max-size " + ByteSize.format(o.max()) + " (expected: at most the NVMe transfer limit " + ByteSize.format(nvme.maxTransferBytes()) + ")");
            }
            VfioBarExporter exporter = VfioBarExporter.export(gpu, 2, new long[] {0}, new long[] {o.size()}, System::nanoTime, VfioBarExporter.DEFAULT_TIMEOUT_NS);
            NvmeDmaBufImporter disk = new NvmeDmaBufImporter(nvme, exporter.buffer(), rt.mapper("nvme0"), System::nanoTime);
            DmaBufMr mr = nic.registerDmaBuf(exporter.buffer(), true, System::nanoTime);
            MemorySegment remote = ((RnicModel) m.device("rnic0").behaviour()).remoteMemory();
            long base = gpu.bar(2).cpuAddress();
            long faultsBefore = m.faultLog().count();
            Latency revokeToStop = new Latency();
            AtomicLong revokes = new AtomicLong();
            AtomicLong resets = new AtomicLong();
            AtomicLong accessesAfterRevoke = new AtomicLong();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread revoker = Thread.ofPlatform().name("dmabuf-revoker").start(() -> {
                try {
                    long period = o.revokeRate() <= 0 ? Long.MAX_VALUE : (long) (1e9 / o.revokeRate());
                    boolean reset = o.mode().equals("reset");
                    while (!stop.get()) {
                        LockSupport.parkNanos(Math.min(period, 50_000_000L));
                        if (stop.get() || o.revokeRate() <= 0) {
                            continue;
                        }
                        long t0 = System.nanoTime();
                        if (reset) {
                            exporter.reset();
                            resets.incrementAndGet();
                            revokeToStop.record(System.nanoTime() - t0);
                        } else {
                            exporter.setMemoryDecode(false);
                            revokeToStop.record(System.nanoTime() - t0);
                            long crc = crc(m, base, o.size());
                            LockSupport.parkNanos(200_000); // the importers keep trying meanwhile
                            if (crc(m, base, o.size()) != crc) {
                                accessesAfterRevoke.incrementAndGet();
                            }
                            exporter.setMemoryDecode(true);
                        }
                        revokes.incrementAndGet();
                        if (o.mode().equals("both")) {
                            reset = !reset;
                        }
                    }
                } catch (Throwable t) {
                    failed.set(t);
                }
            });
            SplittableRandom rnd = new SplittableRandom(o.seed());
            long scratch = m.pageAllocator().allocPages(io.dma4j.platform.memory.PageAllocator.orderFor(o.max()));
            long bad = 0;
            long refused = 0;
            long nvmeOps = 0;
            long rdmaOps = 0;
            long start = System.nanoTime();
            RunReport progress = new RunReport(err, o.json());
            try {
                for (int r = 0; r < o.requests() && failed.get() == null; r++) {
                    if (r == o.requests() / 2 && o.revokeRate() > 0) { // every run with a rate sees at least one revoke
                        long deadline = System.nanoTime() + 10_000_000_000L;
                        while (revokes.get() == 0 && failed.get() == null && System.nanoTime() < deadline) {
                            Thread.onSpinWait();
                        }
                    }
                    long size = o.min() + rnd.nextLong((o.max() - o.min()) / 4096 + 1) * 4096;
                    long offset = rnd.nextLong((o.size() - size) / 4096 + 1) * 4096;
                    if (r % 2 == 0) { // namespace -> GPU memory through the NVMe importer
                        long lba = rnd.nextLong(1L << 18) & ~7L;
                        long tag = rnd.nextLong();
                        for (long p = 0; p < size; p += 8) {
                            m.addressSpace().writeLong(scratch + p, tag + p);
                        }
                        if (nvme.write(lba, new long[] {scratch}, new long[] {size}, 1) != Nvme.SC_SUCCESS) {
                            bad++;
                            continue;
                        }
                        int status = disk.read(lba, offset, size);
                        if (status == NvmeDmaBufImporter.REVOKED) {
                            refused++;
                            continue;
                        }
                        nvmeOps++;
                        for (long p = 0; p < size && status == Nvme.SC_SUCCESS; p += 8) {
                            if (m.addressSpace().readLong(base + offset + p) != tag + p) {
                                status = -2;
                            }
                        }
                        bad += status == Nvme.SC_SUCCESS ? 0 : 1;
                    } else { // GPU memory -> the RNIC's peer through the RDMA importer
                        long remoteOff = rnd.nextLong((remote.byteSize() - size) / 4096 + 1) * 4096;
                        byte[] expect = bytes(m, base + offset, size);
                        RnicDriver.Completion c = nic.rdmaWrite(mr, offset, remoteOff, (int) size, r);
                        if (c.status() == Rnic.WC_LOC_ACCESS_ERR) {
                            refused++;
                            continue;
                        }
                        rdmaOps++;
                        if (c.status() != Rnic.WC_SUCCESS || !java.util.Arrays.equals(expect, remote.asSlice(remoteOff, size).toArray(ValueLayout.JAVA_BYTE))) {
                            bad++;
                        }
                    }
                    if (progress.due()) {
                        progress.show(String.format(Locale.ROOT, "%,d/%,d operations, %,d revokes", r + 1, o.requests(), revokes.get()));
                    }
                }
            } finally {
                stop.set(true);
                revoker.join();
                m.pageAllocator().freePages(scratch);
            }
            progress.clear();
            if (failed.get() != null) {
                throw new IllegalStateException("the revoking thread failed: " + failed.get(), failed.get());
            }
            double secs = (System.nanoTime() - start) / 1e9;
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("exporter", o.exporter());
            summary.put("importers", java.util.List.of(disk.name(), mr.name()));
            summary.put("bufferBytes", o.size());
            summary.put("requests", o.requests());
            summary.put("nvmeReads", nvmeOps);
            summary.put("rdmaWrites", rdmaOps);
            summary.put("refusedWhileRevoked", refused);
            summary.put("verifyFailures", bad);
            summary.put("revokes", revokes.get());
            summary.put("resets", resets.get());
            summary.put("maps", disk.maps() + mr.maps());
            summary.put("remaps", disk.maps() + mr.maps() - 2);
            summary.put("revokeToStop", revokeToStop.summary());
            Map<String, String> mapTypes = new LinkedHashMap<>();
            for (String dev : new String[] {"nvme0", "rnic0"}) {
                mapTypes.put(dev, rt.mapper(dev).p2pMapType(new io.dma4j.api.P2pState(), base).name());
            }
            summary.put("mapTypes", mapTypes);
            summary.put("iovaAllocsForBuffer", disk.mapping().iovaMaps() + mr.mapping().iovaMaps());
            summary.put("bookkeepingBytesPerMapping", Math.max(disk.mapping().bookkeepingBytes(), mr.mapping().bookkeepingBytes()));
            summary.put("accessesAfterRevoke", accessesAfterRevoke.get());
            summary.put("deviceFaults", m.faultLog().count() - faultsBefore);
            summary.put("importerWarnings", exporter.buffer().warnings().size());
            summary.put("rdmaPageFaults", nic.pageFaults());
            summary.put("seconds", secs);
            mr.close();
            disk.close();
            exporter.close();
            String heading = String.format(Locale.ROOT, "run dmabuf: %s exported (%s) to nvme0 and rnic0, %s %s..%s operations, %.0f revokes/s (%s)",
                    o.exporter(), ByteSize.format(o.size()), o.requests(), ByteSize.format(o.min()), ByteSize.format(o.max()), o.revokeRate(), o.mode());
            if (sampler != null) {
                sampler.close();
                HtmlReport.write(o.report(), heading, HtmlReport.configurationOf(rt, o.args()), summary, Map.of("revoke to stop", revokeToStop), sampler);
            }
            RunReport.print(out, o.json(), heading, summary);
            return bad == 0 && accessesAfterRevoke.get() == 0 ? 0 : 1;
        }
    }

    private static long crc(Machine m, long base, long size) {
        CRC32 crc = new CRC32();
        crc.update(bytes(m, base, size));
        return crc.getValue();
    }

    /** A copy of {@code len} bytes at {@code phys}, read in pieces that stay inside one 1 MiB-aligned window of memory. */
    private static byte[] bytes(Machine m, long phys, long len) {
        byte[] out = new byte[(int) len];
        long done = 0;
        while (done < len) {
            long at = phys + done;
            long n = Math.min(len - done, (1L << 20) - (at & ((1L << 20) - 1)));
            MemorySegment.copy(m.addressSpace().view(at, n), ValueLayout.JAVA_BYTE, 0, out, (int) done, (int) n);
            done += n;
        }
        return out;
    }
}
