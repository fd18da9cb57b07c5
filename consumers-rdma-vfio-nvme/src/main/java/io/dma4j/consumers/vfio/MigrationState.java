package io.dma4j.consumers.vfio;

/**
 * The VFIO migration v2 device states ({@code enum vfio_device_mig_state},
 * include/uapi/linux/vfio.h).
 */
public enum MigrationState {
    /** The device has failed; only a reset leaves this state. */
    ERROR,
    /** Not running: no DMA, no state change; the state can be saved or loaded. */
    STOP,
    /** Running normally. */
    RUNNING,
    /** Stopped, with the saving stream producing the final image. */
    STOP_COPY,
    /** Stopped, with the resuming stream accepting an image. */
    RESUMING,
    /** Running as a responder only: it initiates no DMA, but peers may still reach it. */
    RUNNING_P2P,
    /** Running, with the saving stream producing the initial image and then dirty state. */
    PRE_COPY,
    /** PRE_COPY with the initiator side stopped. */
    PRE_COPY_P2P
}
