package io.dma4j.consumers.rdma;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** JFR events of RDMA on-demand paging. They cost nothing unless a recording enables them. */
final class OdpEvents {
    private OdpEvents() {
    }

    /** A device page fault resolved by the driver ({@code mlx5_ib_eqe_pf_action}), timed from the event to the resume. */
    @Name("io.dma4j.OdpPageFault")
    @Label("ODP Page Fault")
    @Category({"dma4j", "RDMA ODP"})
    @StackTrace(false)
    static final class PageFault extends Event {
        @Label("Device")
        String device;

        @Label("Memory Key")
        int key;

        @Label("Virtual Address")
        long va;

        @Label("Bytes Asked")
        @DataAmount
        long bytes;

        @Label("Pages Mapped")
        int pages;

        @Label("Resolved")
        boolean resolved;
    }

    /** An invalidation of an ODP region's pages ({@code mlx5_ib_invalidate_range}): zap, then unmap. */
    @Name("io.dma4j.OdpInvalidation")
    @Label("ODP Invalidation")
    @Category({"dma4j", "RDMA ODP"})
    @StackTrace(false)
    static final class Invalidation extends Event {
        @Label("Start Address")
        long start;

        @Label("Size")
        @DataAmount
        long size;

        @Label("Pages")
        int pages;
    }
}
