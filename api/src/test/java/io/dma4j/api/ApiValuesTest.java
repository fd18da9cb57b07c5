package io.dma4j.api;

import io.dma4j.api.MisuseCheck;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ApiValuesTest {
    @Test
    void iovaStateKeepsTheSwiotlbFlagInBit63LikeTheKernel() {
        IovaState s = new IovaState();
        var w = io.dma4j.api.internal.StateAccess.get();
        assertThat(s.useIova()).isFalse();
        w.setIova(s, 0xffff_c600L, 0x3000);
        assertThat(s.useIova()).isTrue();
        assertThat(s.usesSwiotlb()).isFalse();
        w.markSwiotlb(s);
        assertThat(s.usesSwiotlb()).isTrue();
        assertThat(s.size()).isEqualTo(0x3000);
        assertThat(s.rawSize()).isEqualTo(0x8000_0000_0000_3000L);
        assertThat(s).hasToString("IovaState[addr=0xffffc600, size=0x3000, swiotlb]");
        w.clearIova(s);
        assertThat(s.useIova()).isFalse();
        assertThat(s.addr()).isZero();
    }

    @Test
    void driversCannotWriteTheStates() throws Exception {
        // the writable side is not public API: only the SPI (through the qualified export) reaches it
        for (var m : IovaState.class.getDeclaredMethods()) {
            if (java.lang.reflect.Modifier.isPublic(m.getModifiers())) {
                assertThat(m.getName()).isIn("addr", "size", "rawSize", "useIova", "usesSwiotlb", "toString");
            }
        }
        for (var m : P2pState.class.getDeclaredMethods()) {
            if (java.lang.reflect.Modifier.isPublic(m.getModifiers())) {
                assertThat(m.getName()).isIn("mapType", "provider", "busAddress", "covers", "clear");
            }
        }
        Module api = IovaState.class.getModule();
        assertThat(api.getName()).as("these tests run on the module path").isEqualTo("io.dma4j.api");
        assertThat(api.isExported("io.dma4j.api.internal")).as("the writable side is not exported to everyone").isFalse();
        assertThat(api.isExported("io.dma4j.api")).isTrue();
    }

    @Test
    void directionsAndAttributesMatchTheKernel() {
        assertThat(DmaDirection.BIDIRECTIONAL.ordinal()).isZero();
        assertThat(DmaDirection.TO_DEVICE.ordinal()).isEqualTo(1);
        assertThat(DmaDirection.FROM_DEVICE.ordinal()).isEqualTo(2);
        assertThat(DmaDirection.TO_DEVICE.deviceReads()).isTrue();
        assertThat(DmaDirection.TO_DEVICE.deviceWrites()).isFalse();
        assertThat(DmaDirection.isValid(DmaDirection.NONE)).isFalse();
        assertThat(DmaAttrs.SKIP_CPU_SYNC).isEqualTo(1 << 5);
        assertThat(DmaAttrs.MMIO).isEqualTo(1 << 10);
        assertThat(DmaAttrs.has(DmaAttrs.MMIO | DmaAttrs.NO_WARN, DmaAttrs.MMIO)).isTrue();
    }

    @Test
    void p2pStateCachesOneWindow() {
        P2pState st = new P2pState();
        assertThat(st.covers(0x1000)).isFalse();
        st.set("bar", P2pMapType.BUS_ADDR, 0x1000_0000L, 0x4000_0000L, 0x4100_0000L);
        assertThat(st.covers(0x4000_8000L)).isTrue();
        assertThat(st.covers(0x4100_0000L)).isFalse();
        assertThat(st.busAddress(0x4000_8000L)).isEqualTo(0x3000_8000L);
        st.clear();
        assertThat(st.mapType()).isEqualTo(P2pMapType.NONE);
    }

    @Test
    void exceptionsNameDeviceAddressAndSize() {
        DmaMappingException e = new DmaMappingException("nvme0", 0x1000, 0x2000, "IOVA space exhausted");
        assertThat(e).hasMessage("nvme0: cannot map 0x1000 (+0x2000): IOVA space exhausted");
        assertThat(e.device()).isEqualTo("nvme0");
        assertThat(e.address()).isEqualTo(0x1000);
        assertThat(e.size()).isEqualTo(0x2000);
        assertThat(new DmaApiMisuseException("d", MisuseCheck.UNMAP_SIZE, "what")).hasMessage("d: DMA-API: what")
                .extracting(DmaApiMisuseException::check).isEqualTo(MisuseCheck.UNMAP_SIZE);
    }
}
