package io.dma4j.provider.swiotlb;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** JFR event: a mapping bounced through swiotlb slots ({@code swiotlb_tbl_map_single}). Costs nothing unless a recording enables it. */
@Name("io.dma4j.Bounce")
@Label("swiotlb Bounce")
@Category({"dma4j", "swiotlb"})
@StackTrace(false)
final class BounceEvent extends Event {
    @Label("Device")
    String device;

    @Label("Original Address")
    long orig;

    @Label("Bounce Address")
    long bounce;

    @Label("Size")
    @DataAmount
    long size;

    @Label("Slots")
    int slots;

    @Label("Direction")
    String direction;
}
