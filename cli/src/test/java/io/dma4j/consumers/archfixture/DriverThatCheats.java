package io.dma4j.consumers.archfixture;

import io.dma4j.devices.nvme.NvmeController;
import io.dma4j.runtime.DmaRuntime;

/** A driver that breaks the rules, for {@code ArchitectureTest} to catch: it reads a device model and the runtime. */
public final class DriverThatCheats {
    private DriverThatCheats() {
    }

    /** Reads the controller model's state instead of going through its BAR, and builds a runtime. */
    public static Object cheat(NvmeController controller) {
        DmaRuntime rt = DmaRuntime.builder().build();
        return controller.toString() + rt;
    }
}
