package io.dma4j.runtime;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * The JDK Flight Recorder events of the runtime's JFR layer ({@code dma4j.jfr=true}): one
 * per DMA API call that maps, unmaps, links, unlinks or syncs, timed around the backend's
 * work. They cost nothing unless a recording enables them (the layer checks
 * {@code shouldCommit()} before filling a field). Event names start with {@code io.dma4j.}.
 */
final class MappingEvents {
    private MappingEvents() {
    }

    /** Fields every mapping event has. */
    @Category({"dma4j", "DMA API"})
    @StackTrace(false)
    abstract static class Call extends Event {
        @Label("Device")
        String device;

        @Label("Backend")
        String backend;

        @Label("Call")
        @Description("The API call, named after the kernel function it models")
        String call;

        @Label("Physical Address")
        long phys;

        @Label("DMA Address")
        @Description("The bus address (or IOVA) the device uses")
        long dma;

        @Label("Size")
        @DataAmount
        long size;

        @Label("Direction")
        String direction;
    }

    /** {@code mapPhys}, {@code mapSg} (per list: the first entry's addresses, the mapped count in {@code size}'s place is the list's bytes). */
    @Name("io.dma4j.Map")
    @Label("DMA Map")
    static final class Map extends Call {
    }

    /** {@code unmapPhys}, {@code unmapSg}. */
    @Name("io.dma4j.Unmap")
    @Label("DMA Unmap")
    static final class Unmap extends Call {
    }

    /** {@code iovaLink}. */
    @Name("io.dma4j.IovaLink")
    @Label("IOVA Link")
    static final class Link extends Call {
    }

    /** {@code iovaUnlink}, {@code iovaDestroy}. */
    @Name("io.dma4j.IovaUnlink")
    @Label("IOVA Unlink")
    static final class Unlink extends Call {
    }

    /** {@code iovaSync}, {@code syncForCpu}, {@code syncForDevice}. */
    @Name("io.dma4j.Sync")
    @Label("DMA Sync")
    static final class Sync extends Call {
    }
}
