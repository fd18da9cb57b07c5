package io.dma4j.platform.device;

import jdk.jfr.Category;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** JFR event: a device's DMA access that faulted (what {@link FaultLog} records). Costs nothing unless a recording enables it. */
@Name("io.dma4j.DeviceFault")
@Label("Device DMA Fault")
@Category({"dma4j", "Devices"})
@StackTrace(false)
final class DeviceFaultEvent extends Event {
    @Label("Device")
    String device;

    @Label("Bus Address")
    long busAddress;

    @Label("Access")
    String access;

    @Label("Reason")
    String reason;

    @Label("Translation")
    String translation;
}
