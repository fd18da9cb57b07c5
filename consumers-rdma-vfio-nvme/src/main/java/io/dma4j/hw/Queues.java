package io.dma4j.hw;

/** What the queues of every hardware interface here share. */
public final class Queues {
    private Queues() {
    }

    /**
     * The owner bit of entry {@code index} (a free-running count) in a queue of {@code size}
     * entries: 1 on the first pass, flipped on every wrap. The producer writes it; the consumer
     * owns an entry whose bit matches.
     */
    public static int ownerBit(long index, long size) {
        return (index / size) % 2 == 0 ? 1 : 0;
    }
}
