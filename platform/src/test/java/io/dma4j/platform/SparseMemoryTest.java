package io.dma4j.platform;

import io.dma4j.platform.memory.SparseMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SparseMemoryTest {
    @Test
    void untouchedMemoryReadsZeroAndAllocatesNothing() {
        try (SparseMemory m = new SparseMemory(1L << 40); Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(8192);
            buf.fill((byte) 0x55);
            m.read(123L << 30, buf, 0, 8192);
            assertThat(buf.toArray(ValueLayout.JAVA_BYTE)).containsOnly((byte) 0);
            assertThat(m.getLong(999L << 30)).isZero();
            m.fill(0, 1L << 30, (byte) 0);
            assertThat(m.touchedChunks()).isZero();
        }
    }

    @Test
    void writesAcrossAChunkBoundaryReadBack() {
        try (SparseMemory m = new SparseMemory(64L << 20); Arena a = Arena.ofConfined()) {
            MemorySegment src = a.allocate(100);
            for (int i = 0; i < 100; i++) {
                src.set(ValueLayout.JAVA_BYTE, i, (byte) i);
            }
            long at = SparseMemory.CHUNK_SIZE - 50;
            m.write(at, src, 0, 100);
            MemorySegment dst = a.allocate(100);
            m.read(at, dst, 0, 100);
            assertThat(dst.mismatch(src)).isEqualTo(-1);
            assertThat(m.touchedChunks()).isEqualTo(2);
            m.putLong(SparseMemory.CHUNK_SIZE - 3, 0x1122334455667788L);
            assertThat(m.getLong(SparseMemory.CHUNK_SIZE - 3)).isEqualTo(0x1122334455667788L);
            assertThat(m.getByte(SparseMemory.CHUNK_SIZE - 3)).isEqualTo((byte) 0x88);
        }
    }

    @Test
    void copyWithinMemoryBehavesLikeMemmove() {
        try (SparseMemory m = new SparseMemory(16L << 20)) {
            for (int i = 0; i < 16; i++) {
                m.putByte(SparseMemory.CHUNK_SIZE - 8 + i, (byte) (i + 1));
            }
            m.copy(SparseMemory.CHUNK_SIZE - 8, SparseMemory.CHUNK_SIZE - 4, 16);
            for (int i = 0; i < 16; i++) {
                assertThat(m.getByte(SparseMemory.CHUNK_SIZE - 4 + i)).isEqualTo((byte) (i + 1));
            }
        }
    }

    @Test
    void copiesBetweenMemoriesAndDownwardsAcrossChunks() {
        try (SparseMemory a = new SparseMemory(16L << 20); SparseMemory b = new SparseMemory(16L << 20)) {
            for (int i = 0; i < 64; i++) {
                a.putByte(SparseMemory.CHUNK_SIZE - 32 + i, (byte) (i + 1));
            }
            SparseMemory.copy(a, SparseMemory.CHUNK_SIZE - 32, b, 3 * SparseMemory.CHUNK_SIZE - 10, 64);
            a.copy(SparseMemory.CHUNK_SIZE - 32, SparseMemory.CHUNK_SIZE - 40, 64); // overlapping, moving down
            for (int i = 0; i < 64; i++) {
                assertThat(b.getByte(3 * SparseMemory.CHUNK_SIZE - 10 + i)).isEqualTo((byte) (i + 1));
                assertThat(a.getByte(SparseMemory.CHUNK_SIZE - 40 + i)).isEqualTo((byte) (i + 1));
            }
            b.putLong(0, -1L);
            SparseMemory.copy(a, 8L << 20, b, 0, 8); // untouched source copies as zeros
            assertThat(b.getLong(0)).isZero();
            assertThat(a.touchedChunks()).isEqualTo(2);
        }
    }

    @Test
    void viewsAreLiveAndMustStayInsideOneChunk() {
        try (SparseMemory m = new SparseMemory(16L << 20)) {
            MemorySegment v = m.view(4096, 4096);
            v.set(ValueLayout.JAVA_INT_UNALIGNED, 8, 0xCAFEBABE);
            assertThat(m.getInt(4096 + 8)).isEqualTo(0xCAFEBABE);
            assertThatThrownBy(() -> m.view(SparseMemory.CHUNK_SIZE - 4096, 8192))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("crosses a 4 MiB chunk boundary");
        }
    }

    @Test
    void chunksFollowTheAddressSpaceWhenTheBaseIsNotFourMibAligned() {
        long base = 1L << 20; // the default machine's low DRAM
        try (SparseMemory m = new SparseMemory(15L << 20, base)) {
            long block = (4L << 20) - base; // physical 4 MiB, an order-10 buddy block
            MemorySegment v = m.view(block, 4L << 20);
            v.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, 0x1122334455667788L);
            v.set(ValueLayout.JAVA_LONG_UNALIGNED, (4L << 20) - 8, -2L);
            assertThat(m.getLong(block)).isEqualTo(0x1122334455667788L);
            assertThat(m.getLong(block + (4L << 20) - 8)).isEqualTo(-2L);
            assertThat(m.touchedChunks()).as("one chunk holds the whole block").isEqualTo(1);
            m.putLong(block - 4, 0x0102030405060708L); // straddles the physical 4 MiB boundary
            assertThat(m.getLong(block - 4)).isEqualTo(0x0102030405060708L);
            assertThat(m.getInt(block)).isEqualTo(0x01020304);
            assertThatThrownBy(() -> m.view(block - 4096, 8192))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("crosses a 4 MiB chunk boundary");
            m.write(m.size() - 4096, MemorySegment.ofArray(new byte[4096]).fill((byte) 7), 0, 4096); // the last chunk is short
            assertThat(m.getByte(m.size() - 1)).isEqualTo((byte) 7);
        }
        assertThatThrownBy(() -> new SparseMemory(4096, 100)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("base: 0x64 (expected: a non-negative multiple of 4 KiB)");
    }

    @Test
    void outOfRangeAndClosedAccessesAreRefused() {
        SparseMemory m = new SparseMemory(1L << 20);
        assertThatThrownBy(() -> m.getLong((1L << 20) - 4)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("outside memory of size 0x100000");
        m.close();
        assertThatThrownBy(() -> m.getByte(0)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> new SparseMemory(1000)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multiple of 4 KiB");
    }
}
