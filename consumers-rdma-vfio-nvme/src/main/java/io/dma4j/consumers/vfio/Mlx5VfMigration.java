package io.dma4j.consumers.vfio;

import io.dma4j.hw.mlx5vf.Mlx5Vf;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

import static io.dma4j.consumers.vfio.MigrationState.ERROR;
import static io.dma4j.consumers.vfio.MigrationState.PRE_COPY;
import static io.dma4j.consumers.vfio.MigrationState.PRE_COPY_P2P;
import static io.dma4j.consumers.vfio.MigrationState.RESUMING;
import static io.dma4j.consumers.vfio.MigrationState.RUNNING;
import static io.dma4j.consumers.vfio.MigrationState.RUNNING_P2P;
import static io.dma4j.consumers.vfio.MigrationState.STOP;
import static io.dma4j.consumers.vfio.MigrationState.STOP_COPY;

/**
 * VFIO migration v2 for one mlx5 VF ({@code mlx5vf_pci_set_device_state} and
 * {@code mlx5vf_pci_step_device_state_locked}, drivers/vfio/pci/mlx5/main.c, over the core's
 * path table {@code vfio_mig_get_next_state}, drivers/vfio/vfio_main.c).
 *
 * <p>{@link #step} takes exactly one arc of the driver and refuses anything else with
 * {@code EINVAL} and no state change. The arcs and what they do:
 * <table>
 * <caption>Arcs</caption>
 * <tr><td>RUNNING → RUNNING_P2P, PRE_COPY → PRE_COPY_P2P</td><td>SUSPEND_VHCA initiator</td></tr>
 * <tr><td>RUNNING_P2P → RUNNING, PRE_COPY_P2P → PRE_COPY</td><td>RESUME_VHCA initiator</td></tr>
 * <tr><td>RUNNING_P2P → STOP</td><td>SUSPEND_VHCA responder</td></tr>
 * <tr><td>STOP → RUNNING_P2P</td><td>RESUME_VHCA responder</td></tr>
 * <tr><td>RUNNING → PRE_COPY, RUNNING_P2P → PRE_COPY_P2P</td><td>saving stream with tracking; the initial SAVE</td></tr>
 * <tr><td>PRE_COPY → RUNNING, PRE_COPY_P2P → RUNNING_P2P</td><td>the cleanup SAVE; the stream closed</td></tr>
 * <tr><td>PRE_COPY_P2P → STOP_COPY</td><td>SUSPEND_VHCA responder, the final incremental SAVE (chunked)</td></tr>
 * <tr><td>STOP → STOP_COPY</td><td>saving stream without tracking; a full SAVE (chunked)</td></tr>
 * <tr><td>STOP_COPY → STOP, RESUMING → STOP</td><td>the stream closed (a resuming stream that ends inside a record is refused)</td></tr>
 * <tr><td>STOP → RESUMING</td><td>resuming stream</td></tr>
 * </table>
 * {@link #setState} walks the core's path to any state, one arc at a time; a target the table
 * does not reach (PRE_COPY from STOP_COPY or RESUMING, anything from ERROR) is refused with
 * {@code EINVAL} and no change. A failing arc leaves the device in ERROR, which only
 * {@link #reset()} leaves.
 *
 * <p>Thread safety: all methods are serialised on the migration (the kernel's state mutex).
 */
public final class Mlx5VfMigration implements AutoCloseable {
    private static final Map<MigrationState, Set<MigrationState>> ARCS = new EnumMap<>(MigrationState.class);
    private static final Map<MigrationState, Map<MigrationState, MigrationState>> NEXT = new EnumMap<>(MigrationState.class);

    static {
        ARCS.put(RUNNING, EnumSet.of(RUNNING_P2P, PRE_COPY));
        ARCS.put(RUNNING_P2P, EnumSet.of(RUNNING, STOP, PRE_COPY_P2P));
        ARCS.put(STOP, EnumSet.of(RUNNING_P2P, STOP_COPY, RESUMING));
        ARCS.put(STOP_COPY, EnumSet.of(STOP));
        ARCS.put(RESUMING, EnumSet.of(STOP));
        ARCS.put(PRE_COPY, EnumSet.of(RUNNING, PRE_COPY_P2P));
        ARCS.put(PRE_COPY_P2P, EnumSet.of(PRE_COPY, RUNNING_P2P, STOP_COPY));
        ARCS.put(ERROR, EnumSet.noneOf(MigrationState.class));
        // vfio_from_fsm_table: the next state on the way from (row) to (column); ERROR = refused
        next(RUNNING, STOP, RUNNING_P2P, RUNNING, RUNNING, STOP_COPY, RUNNING_P2P, RESUMING, RUNNING_P2P, RUNNING_P2P, RUNNING_P2P,
                PRE_COPY, PRE_COPY, PRE_COPY_P2P, PRE_COPY);
        next(RUNNING_P2P, STOP, STOP, RUNNING, RUNNING, STOP_COPY, STOP, RESUMING, STOP, RUNNING_P2P, RUNNING_P2P, PRE_COPY, RUNNING,
                PRE_COPY_P2P, PRE_COPY_P2P);
        next(STOP, STOP, STOP, RUNNING, RUNNING_P2P, STOP_COPY, STOP_COPY, RESUMING, RESUMING, RUNNING_P2P, RUNNING_P2P, PRE_COPY, RUNNING_P2P,
                PRE_COPY_P2P, RUNNING_P2P);
        next(STOP_COPY, STOP, STOP, RUNNING, STOP, STOP_COPY, STOP_COPY, RESUMING, STOP, RUNNING_P2P, STOP, PRE_COPY, ERROR, PRE_COPY_P2P, ERROR);
        next(RESUMING, STOP, STOP, RUNNING, STOP, STOP_COPY, STOP, RESUMING, RESUMING, RUNNING_P2P, STOP, PRE_COPY, ERROR, PRE_COPY_P2P, ERROR);
        next(PRE_COPY, STOP, RUNNING, RUNNING, RUNNING, STOP_COPY, PRE_COPY_P2P, RESUMING, RUNNING, RUNNING_P2P, RUNNING, PRE_COPY, PRE_COPY,
                PRE_COPY_P2P, PRE_COPY_P2P);
        next(PRE_COPY_P2P, STOP, RUNNING_P2P, RUNNING, RUNNING_P2P, STOP_COPY, STOP_COPY, RESUMING, RUNNING_P2P, RUNNING_P2P, RUNNING_P2P,
                PRE_COPY, PRE_COPY, PRE_COPY_P2P, PRE_COPY_P2P);
        Map<MigrationState, MigrationState> fromError = new EnumMap<>(MigrationState.class);
        for (MigrationState s : MigrationState.values()) {
            fromError.put(s, ERROR);
        }
        NEXT.put(ERROR, fromError);
    }

    private static void next(MigrationState from, MigrationState... pairs) {
        Map<MigrationState, MigrationState> row = new EnumMap<>(MigrationState.class);
        for (int i = 0; i < pairs.length; i += 2) {
            row.put(pairs[i], pairs[i + 1]);
        }
        row.put(from, from);
        row.put(ERROR, ERROR);
        NEXT.put(from, row);
    }

    private final Mlx5VfDriver core;
    private MigrationState state = RUNNING;
    private SaveStream save;
    private ResumeStream resume;
    private long arcs;

    /** Migration for the VF behind {@code core}, starting in RUNNING. */
    public Mlx5VfMigration(Mlx5VfDriver core) {
        this.core = core;
    }

    /** The driver core. */
    public Mlx5VfDriver core() {
        return core;
    }

    /** The current state. */
    public synchronized MigrationState state() {
        return state;
    }

    /** Whether {@code from → to} is one arc of the driver. */
    public static boolean isArc(MigrationState from, MigrationState to) {
        return ARCS.get(from).contains(to);
    }

    /** The next state on the core's path from {@code from} to {@code to} ({@code to} itself when there, ERROR when refused). */
    public static MigrationState nextState(MigrationState from, MigrationState to) {
        return NEXT.get(from).get(to);
    }

    /** Arcs taken so far. */
    public synchronized long arcsTaken() {
        return arcs;
    }

    /** The saving stream, while one is open. */
    public synchronized SaveStream saveStream() {
        return save;
    }

    /** The resuming stream, while one is open. */
    public synchronized ResumeStream resumeStream() {
        return resume;
    }

    /**
     * {@code VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE}: moves to {@code target} along the core's
     * path, one arc at a time.
     *
     * @return the stream the last arc opened (saving for PRE_COPY/STOP_COPY, resuming for
     *         RESUMING), or null
     * @throws VfioMigrationException {@code EINVAL} for a target the table does not reach (no
     *         state change), or the failure of an arc (the device is then in ERROR)
     */
    public synchronized MigrationStream setState(MigrationState target) {
        MigrationStream opened = null;
        if (nextState(state, target) == ERROR && target != ERROR) {
            throw new VfioMigrationException("EINVAL", String.format("%s: cannot move from %s to %s", core.name(), state, target));
        }
        if (target == ERROR) {
            throw new VfioMigrationException("EINVAL", String.format("%s: ERROR is not a state to ask for", core.name()));
        }
        while (state != target) {
            opened = step(nextState(state, target));
        }
        return opened;
    }

    /**
     * Takes the single arc from the current state to {@code next}.
     *
     * @return the stream the arc opened, or null
     * @throws VfioMigrationException {@code EINVAL} when there is no such arc (no state change);
     *         the arc's failure otherwise (the device is then in ERROR)
     */
    public synchronized MigrationStream step(MigrationState next) {
        if (!isArc(state, next)) {
            throw new VfioMigrationException("EINVAL", String.format("%s: no arc from %s to %s", core.name(), state, next));
        }
        try {
            MigrationStream opened = arc(state, next);
            state = next;
            arcs++;
            return opened;
        } catch (RuntimeException e) {
            state = ERROR;
            throw e;
        }
    }

    private MigrationStream arc(MigrationState from, MigrationState to) {
        switch (from) {
            case RUNNING, PRE_COPY -> {
                if (to == RUNNING_P2P || to == PRE_COPY_P2P) {
                    vhca(Mlx5Vf.CMD_SUSPEND_VHCA, Mlx5Vf.FLAG_INITIATOR);
                    return null;
                }
                if (to == PRE_COPY) {
                    return openPrecopy();
                }
                closeSave(true); // PRE_COPY -> RUNNING
                return null;
            }
            case RUNNING_P2P -> {
                switch (to) {
                    case RUNNING -> vhca(Mlx5Vf.CMD_RESUME_VHCA, Mlx5Vf.FLAG_INITIATOR);
                    case STOP -> vhca(Mlx5Vf.CMD_SUSPEND_VHCA, Mlx5Vf.FLAG_RESPONDER);
                    default -> {
                        return openPrecopy(); // PRE_COPY_P2P
                    }
                }
                return null;
            }
            case PRE_COPY_P2P -> {
                switch (to) {
                    case PRE_COPY -> vhca(Mlx5Vf.CMD_RESUME_VHCA, Mlx5Vf.FLAG_INITIATOR);
                    case RUNNING_P2P -> closeSave(true);
                    default -> { // STOP_COPY
                        vhca(Mlx5Vf.CMD_SUSPEND_VHCA, Mlx5Vf.FLAG_RESPONDER);
                        save.stopCopy(true);
                        return save;
                    }
                }
                return null;
            }
            case STOP -> {
                switch (to) {
                    case RUNNING_P2P -> vhca(Mlx5Vf.CMD_RESUME_VHCA, Mlx5Vf.FLAG_RESPONDER);
                    case STOP_COPY -> {
                        save = new SaveStream(core, this, false);
                        try {
                            save.stopCopy(false);
                        } catch (RuntimeException e) {
                            closeSave(false);
                            throw e;
                        }
                        return save;
                    }
                    default -> { // RESUMING
                        resume = new ResumeStream(core, this);
                        return resume;
                    }
                }
                return null;
            }
            case STOP_COPY -> {
                closeSave(false);
                return null;
            }
            case RESUMING -> {
                try {
                    resume.finish();
                } finally {
                    resume.release();
                    resume = null;
                }
                return null;
            }
            default -> throw new IllegalStateException("no arc from " + from);
        }
    }

    private SaveStream openPrecopy() {
        save = new SaveStream(core, this, true);
        try {
            save.startPrecopy();
        } catch (RuntimeException e) {
            closeSave(false);
            throw e;
        }
        return save;
    }

    private void closeSave(boolean cleanup) {
        if (save == null) {
            return;
        }
        try {
            if (cleanup) {
                save.cleanup();
            }
        } finally {
            save.release();
            save = null;
        }
    }

    private void vhca(int op, int side) {
        core.command(op, 0, 0, 0, 0, side, op == Mlx5Vf.CMD_SUSPEND_VHCA ? "SUSPEND_VHCA" : "RESUME_VHCA");
    }

    /** A device reset: streams closed, both sides resumed, state RUNNING. */
    public synchronized void reset() {
        closeStreams();
        core.command(Mlx5Vf.CMD_RESUME_VHCA, 0, 0, 0, 0, Mlx5Vf.FLAG_INITIATOR | Mlx5Vf.FLAG_RESPONDER, "RESUME_VHCA");
        state = RUNNING;
    }

    private void closeStreams() {
        if (save != null) {
            save.release();
            save = null;
        }
        if (resume != null) {
            resume.release();
            resume = null;
        }
    }

    /** Closes any open stream (freeing its buffers). The driver core stays open. */
    @Override
    public synchronized void close() {
        closeStreams();
    }
}
