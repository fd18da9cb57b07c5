package io.dma4j.provider.p2p;

import io.dma4j.api.DmaDirection;
import io.dma4j.api.DmaMapper;
import io.dma4j.api.P2pMapType;
import io.dma4j.api.P2pState;
import io.dma4j.api.PeerMemoryAllocator;
import io.dma4j.api.ScatterList;
import io.dma4j.platform.Machine;
import io.dma4j.platform.device.Device;
import io.dma4j.runtime.DmaRuntime;
import io.dma4j.runtime.RuntimeConfig;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The README's "NVMe CMB as peer memory" example, kept true. */
class ReadmeExampleTest {
    @Test
    void anNvmeCmbServesAsPeerMemoryForTheNicBesideIt() {
        try (DmaRuntime rt = DmaRuntime.builder().config(RuntimeConfig.defaults()).build()) {
            Machine machine = rt.machine();
            Device nvme = machine.device("nvme0");
            Device rnic = machine.device("rnic0");
            PeerMemoryAllocator p2p = rt.peerMemory();
            p2p.publish(nvme, 2, 0, 0);
            Device best = p2p.findBest(List.of(rnic));
            assertThat(best).isEqualTo(nvme);
            assertThat(p2p.distance(best, List.of(rnic))).isEqualTo(4);
            long buf = p2p.alloc(best, 64 * 1024);
            DmaMapper m = rt.mapper("rnic0");
            P2pState state = new P2pState();
            assertThat(m.p2pMapType(state, buf)).isEqualTo(P2pMapType.BUS_ADDR);
            assertThat(state.busAddress(buf)).isEqualTo(nvme.bar(2).busAddress() + (buf - nvme.bar(2).cpuAddress()));
            ScatterList sg = new ScatterList(1).set(0, buf, 64 * 1024);
            assertThat(m.mapSg(sg, 1, DmaDirection.FROM_DEVICE, 0)).isEqualTo(1);
            assertThat(sg.dmaFlags(0) & ScatterList.FLAG_BUS_ADDRESS).isNotZero();
            m.unmapSg(sg, 1, DmaDirection.FROM_DEVICE, 0);
            p2p.free(best, buf, 64 * 1024);
            assertThat(p2p.available(nvme)).isEqualTo(64L << 20);
            assertThat(rt.debugReports()).isEmpty();
        }
    }
}
