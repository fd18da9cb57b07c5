package io.dma4j.consumers.vfio;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** JFR event: one precopy round of a live migration, or the stop-copy (round -1). Costs nothing unless a recording enables it. */
@Name("io.dma4j.MigrationRound")
@Label("Migration Round")
@Category({"dma4j", "VFIO Migration"})
@StackTrace(false)
final class MigrationRoundEvent extends Event {
    @Label("Round")
    int round;

    @Label("Device State Moved")
    @DataAmount
    long bytes;

    @Label("Dirty Before")
    @DataAmount
    long dirty;
}
