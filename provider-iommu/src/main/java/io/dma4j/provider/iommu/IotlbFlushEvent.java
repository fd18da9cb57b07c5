package io.dma4j.provider.iommu;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * JFR event: an IOTLB invalidation of a domain, a range ({@code iommu_iotlb_sync} after an
 * unmap) or the whole IOTLB (a flush-queue flush), timed with the simulated invalidation
 * cost. Costs nothing unless a recording enables it.
 */
@Name("io.dma4j.IotlbFlush")
@Label("IOTLB Flush")
@Category({"dma4j", "IOMMU"})
@StackTrace(false)
final class IotlbFlushEvent extends Event {
    @Label("Domain")
    String domain;

    @Label("Kind")
    String kind;

    @Label("IOVA")
    long iova;

    @Label("Size")
    @DataAmount
    long size;
}
