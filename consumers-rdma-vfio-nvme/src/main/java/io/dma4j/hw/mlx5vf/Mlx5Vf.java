package io.dma4j.hw.mlx5vf;

/**
 * The hardware interface of the mlx5-like VF model, reduced to what VFIO live migration
 * exercises; shared by the driver ({@code io.dma4j.consumers.vfio}) and the model
 * ({@code io.dma4j.devices.mlx5vf}). Mailbox and event fields are little-endian; MTT entries
 * are big-endian, as mlx5's are.
 *
 * <p><b>BAR 0 registers</b> (8 bytes each): the command mailbox address and its doorbell, the
 * event queue (base, entries, a power of two; enabled by {@link #REG_EQ_ENABLE}; the doorbell
 * takes the consumer index), and the workload window ({@link #REG_WL_BASE}, {@link #REG_WL_LEN}):
 * the DMA range of guest memory the VF's own traffic writes into while it runs.
 *
 * <p><b>Commands</b> ({@value #CMD_SIZE}-byte mailbox in DMA memory, run inside the doorbell
 * write; status and outputs written back by DMA). {@link #CMD_SAVE_VHCA_STATE} and
 * {@link #CMD_LOAD_VHCA_STATE} are asynchronous, as in mlx5: the mailbox status only says the
 * command was accepted, and the result arrives as an event carrying the command's token.
 *
 * <p><b>Memory keys</b>: {@link #CMD_CREATE_MKEY} reads a create-mkey input by DMA — a
 * {@value #MKEY_IN_HEADER}-byte header then the MTT, one big-endian 8-byte DMA address per
 * 4 KiB page, padded to whole octwords (two entries) — and answers the key in
 * {@link #CMD_OUT0}. The device keeps its own copy of the MTT; it translates through it at the
 * moment it moves bytes, so an entry the IOMMU no longer maps is a device error.
 *
 * <p><b>Saved images</b> are the device's own format: a {@value #IMAGE_HEADER}-byte header
 * (magic, flags, state size, record count, CRC-32 of the records) and records of a 4-byte
 * state-page index and the page's {@value #PAGE} bytes. A LOAD checks all of it before it
 * changes a byte of state.
 */
public final class Mlx5Vf {
    private Mlx5Vf() {
    }

    /** Model name in machine descriptions. */
    public static final String MODEL = "mlx5-vf";
    /** The device's page (MTT granule, state page). */
    public static final int PAGE = 4096;

    /** Command mailbox DMA address. */
    public static final long REG_CMD_MAILBOX = 0x00;
    /** Command doorbell: a write runs the mailbox's command. */
    public static final long REG_CMD_DOORBELL = 0x08;
    /** Event queue base (DMA address). */
    public static final long REG_EQ_BASE = 0x10;
    /** Event queue entries. */
    public static final long REG_EQ_SIZE = 0x18;
    /** Event queue doorbell: the consumer index. */
    public static final long REG_EQ_DOORBELL = 0x20;
    /** Write 1: events flow to the configured queue; 0: stop and forget it. */
    public static final long REG_EQ_ENABLE = 0x28;
    /** The workload window's DMA address (guest memory the VF writes while running). */
    public static final long REG_WL_BASE = 0x30;
    /** The workload window's length in bytes (0: the VF writes no guest memory). */
    public static final long REG_WL_LEN = 0x38;

    /** Read-only: the most IOVA ranges one page tracker takes. */
    public static final long REG_CAP_TRACKER_RANGES = 0x40;
    /** Read-only: log2 of the tracker's smallest page size (bits 0-7) and largest (bits 8-15). */
    public static final long REG_CAP_TRACKER_PAGES = 0x48;
    /** Read-only: the widest address span (bytes) one tracker covers. */
    public static final long REG_CAP_TRACKER_SPACE = 0x50;
    /** Read-only: the most bytes one SAVE writes or one LOAD reads. */
    public static final long REG_CAP_MAX_SAVE = 0x58;

    /** Mailbox size. */
    public static final int CMD_SIZE = 64;
    /** Mailbox: opcode (u32). */
    public static final int CMD_OPCODE = 0;
    /** Mailbox: memory key (u32). */
    public static final int CMD_MKEY = 4;
    /** Mailbox: first argument (u64). */
    public static final int CMD_ARG0 = 8;
    /** Mailbox: second argument (u64). */
    public static final int CMD_ARG1 = 16;
    /** Mailbox: third argument (u64). */
    public static final int CMD_ARG2 = 24;
    /** Mailbox: flags (u32). */
    public static final int CMD_FLAGS = 32;
    /** Mailbox: the token an asynchronous command's event carries (u32). */
    public static final int CMD_TOKEN = 36;
    /** Mailbox: first output (u64). */
    public static final int CMD_OUT0 = 40;
    /** Mailbox: second output (u64). */
    public static final int CMD_OUT1 = 48;
    /** Mailbox: status written by the device (u32). */
    public static final int CMD_STATUS = 60;

    /**
     * QUERY_VHCA_MIGRATION_STATE: OUT0 = bytes the next SAVE needs (a full image, or with
     * {@link #FLAG_INCREMENTAL} the state changed since the last save; with
     * {@link #FLAG_CHUNK} at most one chunk of ARG0 bytes), OUT1 = bytes the whole remaining
     * image needs.
     */
    public static final int CMD_QUERY_VHCA_MIGRATION_STATE = 0xb0f;
    /** SAVE_VHCA_STATE (async): image into key MKEY, ARG0 = buffer bytes; flags {@link #FLAG_INCREMENTAL}, {@link #FLAG_TRACK}, {@link #FLAG_CHUNK}. */
    public static final int CMD_SAVE_VHCA_STATE = 0xb10;
    /** LOAD_VHCA_STATE (async): image from key MKEY, ARG0 = image bytes. The VF must be suspended. */
    public static final int CMD_LOAD_VHCA_STATE = 0xb11;
    /** SUSPEND_VHCA: flags {@link #FLAG_INITIATOR} (stop issuing DMA) or {@link #FLAG_RESPONDER} (stop changing state). */
    public static final int CMD_SUSPEND_VHCA = 0xb12;
    /** RESUME_VHCA: flags as for suspend. */
    public static final int CMD_RESUME_VHCA = 0xb13;
    /**
     * CREATE_MKEY: ARG0 = DMA address of the create-mkey input, ARG1 = pages (1 to
     * {@link #MAX_MKEY_PAGES}); OUT0 = the key.
     */
    public static final int CMD_CREATE_MKEY = 0x200;
    /** DESTROY_MKEY: key MKEY. */
    public static final int CMD_DESTROY_MKEY = 0x202;
    /**
     * CREATE_PAGE_TRACK: ARG0 = DMA address of the ranges (pairs of u64 start and length),
     * ARG1 = range count, ARG2 = log2 of the tracked page size, MKEY = the receive buffer's
     * key (carved into {@value #PAGE}-byte messages); OUT0 = the tracker id.
     */
    public static final int CMD_CREATE_PAGE_TRACK = 0x300;
    /**
     * REPORT_PAGE_TRACK: tracker ARG2, range [ARG0, ARG0 + ARG1): the dirty addresses in the
     * range are written (u64 each) into the receive messages, one event per message, and
     * cleared; the last event's state is {@link #TRACK_DONE}, or {@link #TRACK_REPORTING}
     * when more remain (report again).
     */
    public static final int CMD_REPORT_PAGE_TRACK = 0x301;
    /** DESTROY_PAGE_TRACK: tracker ARG2. */
    public static final int CMD_DESTROY_PAGE_TRACK = 0x302;

    /** SAVE/QUERY: only state changed since the last save. */
    public static final int FLAG_INCREMENTAL = 1;
    /** SAVE: start (or keep) tracking state changes for later incremental saves. */
    public static final int FLAG_TRACK = 2;
    /** SAVE/QUERY: chunk mode: a SAVE writes what fits and reports the next chunk's size. */
    public static final int FLAG_CHUNK = 4;
    /** SUSPEND/RESUME: the initiator side (the VF's outgoing DMA). */
    public static final int FLAG_INITIATOR = 1;
    /** SUSPEND/RESUME: the responder side (state changes). */
    public static final int FLAG_RESPONDER = 2;

    /** Create-mkey input header size; the MTT follows. */
    public static final int MKEY_IN_HEADER = 16;
    /** The most pages one key covers: 4 GiB, the reach of SAVE's and LOAD's 32-bit size field. */
    public static final int MAX_MKEY_PAGES = 1 << 20;
    /** Create-mkey input: translation size in octwords (u32). */
    public static final int MKEY_IN_OCTWORDS = 0;
    /** Create-mkey input: log2 page size (u8). */
    public static final int MKEY_IN_LOG_PAGE = 4;
    /** Create-mkey input: access flags (u8, {@link #ACCESS_LOCAL_WRITE} etc.). */
    public static final int MKEY_IN_ACCESS = 5;
    /** Create-mkey input: length in bytes (u64). */
    public static final int MKEY_IN_LEN = 8;
    /** Access: local read. */
    public static final int ACCESS_LOCAL_READ = 1;
    /** Access: local write. */
    public static final int ACCESS_LOCAL_WRITE = 2;
    /** Access: remote read. */
    public static final int ACCESS_REMOTE_READ = 4;
    /** Access: remote write. */
    public static final int ACCESS_REMOTE_WRITE = 8;

    /** Status: done (or accepted, for an asynchronous command). */
    public static final int ST_OK = 0;
    /** Status: unknown opcode. */
    public static final int ST_BAD_OPCODE = 1;
    /** Status: unknown memory key or tracker. */
    public static final int ST_BAD_RESOURCE = 2;
    /** Status: bad argument (size, range, page size, count). */
    public static final int ST_BAD_PARAM = 3;
    /** Status: a DMA access the IOMMU refused, or an MTT entry that does not translate. */
    public static final int ST_DMA_ERROR = 4;
    /** Status: the buffer is smaller than the image. */
    public static final int ST_BAD_SIZE = 5;
    /** Status: the command needs another device state (LOAD while running, resume while not suspended). */
    public static final int ST_BAD_RES_STATE = 6;
    /** Status: an image that fails its checks (magic, size, CRC, page index). */
    public static final int ST_BAD_IMAGE = 7;
    /** Status: the device failed inside (an injected {@code device_command} failure); nothing changed. */
    public static final int ST_INTERNAL_ERROR = 8;

    /** Event size. */
    public static final int EQE_SIZE = 32;
    /** Event: type (u8). */
    public static final int EQE_TYPE = 0;
    /** Event: status (u8, the ST_ codes). */
    public static final int EQE_STATUS = 1;
    /** Event: token (u32). */
    public static final int EQE_TOKEN = 4;
    /** Event: first output (u64): SAVE's actual image size; a report's message index. */
    public static final int EQE_OUT0 = 8;
    /** Event: second output (u64): SAVE's next required size (chunk mode); a report's address count. */
    public static final int EQE_OUT1 = 16;
    /** Event: a report's tracker state (u32). */
    public static final int EQE_STATE = 24;
    /** Event: owner byte (bit 0): 1 on the first pass of the queue, flipped on every wrap. */
    public static final int OWNER = 31;
    /** Event type: an asynchronous SAVE completed. */
    public static final int EV_SAVE_DONE = 1;
    /** Event type: an asynchronous LOAD completed. */
    public static final int EV_LOAD_DONE = 2;
    /** Event type: a page-tracker report message. */
    public static final int EV_TRACK_REPORT = 3;
    /** Tracker state: more dirty addresses remain in the range. */
    public static final int TRACK_REPORTING = 1;
    /** Tracker state: the range is reported. */
    public static final int TRACK_DONE = 2;

    /** Image header size. */
    public static final int IMAGE_HEADER = 32;
    /** Image: magic (u32). */
    public static final int IMG_MAGIC_OFF = 0;
    /** Image: flags (u32, {@link #IMG_FULL}). */
    public static final int IMG_FLAGS = 4;
    /** Image: the device's state size (u64). */
    public static final int IMG_STATE_SIZE = 8;
    /** Image: records (u32). */
    public static final int IMG_RECORDS = 16;
    /** Image: CRC-32 of the records (u32). */
    public static final int IMG_CRC = 20;
    /** Image magic. */
    public static final int IMG_MAGIC = 0x4d4c5853;
    /** Image flag: every state page is present. */
    public static final int IMG_FULL = 1;
    /** Record size: index and page. */
    public static final int IMG_RECORD = 4 + PAGE;

    /** Bytes of an image of {@code records} records. */
    public static long imageBytes(long records) {
        return IMAGE_HEADER + records * IMG_RECORD;
    }
}
