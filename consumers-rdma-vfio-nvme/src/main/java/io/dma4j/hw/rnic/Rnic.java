package io.dma4j.hw.rnic;

/**
 * The hardware interface of the RNIC model (an mlx5-like RDMA NIC reduced to what on-demand
 * paging exercises), shared by the driver ({@code io.dma4j.consumers.rdma}) and the model
 * ({@code io.dma4j.devices.rnic}). All structures are little-endian.
 *
 * <p><b>BAR 0 registers</b> (8 bytes each): the command mailbox address and its doorbell; one
 * queue pair's send queue, completion queue and event queue (base DMA address and entry count,
 * a power of two), enabled by {@link #REG_QP_ENABLE}; the send-queue doorbell takes the
 * producer index, the CQ and EQ doorbells the consumer index (free-running counters).
 *
 * <p><b>Commands</b> ({@value #CMD_SIZE}-byte mailbox in DMA memory, run inside the doorbell
 * write, status written back into the mailbox by DMA at {@link #CMD_STATUS}):
 * {@link #CMD_CREATE_MKEY} (a memory key over a virtual range, its translation table all
 * not present), {@link #CMD_DESTROY_MKEY}, {@link #CMD_UPDATE_XLT} (entries read by DMA from a
 * translation buffer, or zeroed with {@link #XLT_ZAP}: mlx5's UMR), and
 * {@link #CMD_RESUME_PAGE_FAULT} (mlx5's PAGE_FAULT_RESUME: the stalled work request goes on,
 * or completes in error with {@link #RESUME_ERROR}).
 *
 * <p><b>Translation entries</b> (one per 4 KiB page of the key's range):
 * {@code dma_address | MTT_READ | MTT_WRITE}, as mlx5's {@code populate_mtt} writes them; an
 * entry without {@link #MTT_READ} is not present.
 *
 * <p><b>Work requests</b> ({@value #WQE_SIZE} B): {@link #OP_RDMA_WRITE} (the local range is
 * read by DMA and sent to the remote peer) and {@link #OP_RDMA_READ} (remote bytes are written
 * by DMA into the local range). A page whose entry is not present (or not writable for a READ)
 * raises a {@link #EQE_PAGE_FAULT} event and stalls the send queue at that request.
 * <b>Completions</b> ({@value #CQE_SIZE} B) and <b>events</b> ({@value #EQE_SIZE} B) carry an
 * owner bit that flips on every wrap of the queue (first pass: 1).
 */
public final class Rnic {
    private Rnic() {
    }

    /** Model name in machine descriptions. */
    public static final String MODEL = "rnic";
    /** The NIC's page (translation granule). */
    public static final long PAGE = 4096;

    /** Command mailbox DMA address. */
    public static final long REG_CMD_MAILBOX = 0x00;
    /** Command doorbell: a write runs the mailbox's command. */
    public static final long REG_CMD_DOORBELL = 0x08;
    /** Send queue base (DMA address). */
    public static final long REG_SQ_BASE = 0x10;
    /** Send queue entries. */
    public static final long REG_SQ_SIZE = 0x18;
    /** Completion queue base. */
    public static final long REG_CQ_BASE = 0x20;
    /** Completion queue entries. */
    public static final long REG_CQ_SIZE = 0x28;
    /** Event queue base. */
    public static final long REG_EQ_BASE = 0x30;
    /** Event queue entries. */
    public static final long REG_EQ_SIZE = 0x38;
    /** Send queue doorbell: the producer index. */
    public static final long REG_SQ_DOORBELL = 0x40;
    /** Completion queue doorbell: the consumer index. */
    public static final long REG_CQ_DOORBELL = 0x48;
    /** Event queue doorbell: the consumer index. */
    public static final long REG_EQ_DOORBELL = 0x50;
    /** Write 1: the queue pair starts with the queues configured; 0: stops and forgets them. */
    public static final long REG_QP_ENABLE = 0x58;

    /** Mailbox size. */
    public static final int CMD_SIZE = 64;
    /** Mailbox: opcode (u32). */
    public static final int CMD_OPCODE = 0;
    /** Mailbox: memory key (u32). */
    public static final int CMD_MKEY = 4;
    /** Mailbox: CREATE_MKEY start VA, UPDATE_XLT first entry, RESUME token (u64). */
    public static final int CMD_ARG0 = 8;
    /** Mailbox: CREATE_MKEY length in bytes, UPDATE_XLT entry count (u64). */
    public static final int CMD_ARG1 = 16;
    /** Mailbox: CREATE_MKEY access flags, UPDATE_XLT translation buffer DMA address (u64). */
    public static final int CMD_ARG2 = 24;
    /** Mailbox: flags (u32). */
    public static final int CMD_FLAGS = 32;
    /** Mailbox: status written by the device (u32). */
    public static final int CMD_STATUS = 60;

    /** Creates a memory key: mkey, start VA, length (page multiples), access. */
    public static final int CMD_CREATE_MKEY = 0x200;
    /** Destroys a memory key. */
    public static final int CMD_DESTROY_MKEY = 0x202;
    /** Resumes the request stalled on a page fault: token in ARG0. */
    public static final int CMD_RESUME_PAGE_FAULT = 0x204;
    /** Writes translation entries: mkey, first entry, count, buffer. */
    public static final int CMD_UPDATE_XLT = 0x300;

    /** UPDATE_XLT flag: zero the entries instead of reading them (the buffer is ignored). */
    public static final int XLT_ZAP = 1;
    /** RESUME flag: the fault could not be resolved; the request completes with {@link #WC_LOC_ACCESS_ERR}. */
    public static final int RESUME_ERROR = 1;
    /** CREATE_MKEY access: the device may write the range (RDMA READ targets). */
    public static final int ACCESS_WRITE = 2;
    /**
     * CREATE_MKEY access: an implicit key over the whole user address space
     * {@code [0, IMPLICIT_END)} (start and length are ignored) whose translation is a table
     * of {@link #IMPLICIT_WINDOW}-byte windows, each naming a child key (mlx5's KSM of an
     * implicit MR); a request in a window with no child raises a page fault on the parent key.
     */
    public static final int ACCESS_IMPLICIT = 4;
    /** The end of an implicit key's range (47-bit user addresses). */
    public static final long IMPLICIT_END = 1L << 47;
    /** The window one child key of an implicit key covers ({@code MLX5_IMR_MTT_SIZE}, 1 GiB). */
    public static final long IMPLICIT_WINDOW = 1L << 30;
    /** Sets window ARG0 of implicit key MKEY to child key ARG1 (0: none). */
    public static final int CMD_UPDATE_KSM = 0x301;
    /** Most entries one UPDATE_XLT carries. */
    public static final int XLT_MAX_ENTRIES = 512;

    /** Status: done. */
    public static final int ST_OK = 0;
    /** Status: unknown opcode. */
    public static final int ST_BAD_OPCODE = 1;
    /** Status: unknown or duplicate memory key. */
    public static final int ST_BAD_MKEY = 2;
    /** Status: a range or count outside the key, or not page aligned. */
    public static final int ST_BAD_RANGE = 3;
    /** Status: the device could not read the translation buffer. */
    public static final int ST_DMA_ERROR = 4;
    /** Status: no request is stalled on that token. */
    public static final int ST_BAD_TOKEN = 5;
    /** Status: the device failed inside (an injected {@code device_command} failure); nothing changed. */
    public static final int ST_INTERNAL_ERROR = 6;

    /** Translation entry: present, the device may read. */
    public static final long MTT_READ = 1;
    /** Translation entry: the device may write. */
    public static final long MTT_WRITE = 2;
    /** Translation entry: the DMA address bits. */
    public static final long MTT_ADDR_MASK = ~(PAGE - 1);

    /** Work request size. */
    public static final int WQE_SIZE = 64;
    /** WQE: opcode (u8). */
    public static final int WQE_OPCODE = 0;
    /** WQE: local memory key (u32). */
    public static final int WQE_LKEY = 4;
    /** WQE: the caller's request id (u64). */
    public static final int WQE_WR_ID = 8;
    /** WQE: local virtual address in the key's range (u64). */
    public static final int WQE_LOCAL_VA = 16;
    /** WQE: offset in the remote peer's memory (u64). */
    public static final int WQE_REMOTE = 24;
    /** WQE: bytes (u32). */
    public static final int WQE_LENGTH = 32;
    /** RDMA WRITE: local memory to the remote peer. */
    public static final int OP_RDMA_WRITE = 0x08;
    /** RDMA READ: the remote peer's memory into local memory. */
    public static final int OP_RDMA_READ = 0x10;

    /** Completion size. */
    public static final int CQE_SIZE = 32;
    /** CQE: request id (u64). */
    public static final int CQE_WR_ID = 0;
    /** CQE: bytes moved (u32). */
    public static final int CQE_BYTES = 8;
    /** CQE: status (u8, ibv_wc_status numbering). */
    public static final int CQE_STATUS = 12;
    /** CQE: opcode of the request (u8). */
    public static final int CQE_OPCODE = 13;
    /** CQE/EQE: owner byte (bit 0). */
    public static final int OWNER = 31;
    /** Completion: success. */
    public static final int WC_SUCCESS = 0;
    /** Completion: a local range outside the key, an unknown key, or a READ into a read-only key. */
    public static final int WC_LOC_PROT_ERR = 4;
    /** Completion: a DMA access faulted, or a page fault was resumed with an error. */
    public static final int WC_LOC_ACCESS_ERR = 8;
    /** Completion: a bad opcode or a remote range outside the peer's memory. */
    public static final int WC_LOC_QP_OP_ERR = 2;

    /** Event size. */
    public static final int EQE_SIZE = 32;
    /** EQE: type (u8). */
    public static final int EQE_TYPE = 0;
    /** EQE: flags (u8). */
    public static final int EQE_FLAGS = 1;
    /** EQE: token to resume with (u32). */
    public static final int EQE_TOKEN = 4;
    /** EQE: memory key (u32). */
    public static final int EQE_MKEY = 8;
    /** EQE: bytes the request still needs from the faulting address (u32). */
    public static final int EQE_BYTES = 12;
    /** EQE: the faulting virtual address, page aligned (u64). */
    public static final int EQE_VA = 16;
    /** Event type: a page fault on a memory key (mlx5's MLX5_EVENT_TYPE_PAGE_FAULT). */
    public static final int EQE_PAGE_FAULT = 0x0c;
    /** Page-fault flag: the device needs write access. */
    public static final int FAULT_WRITE = 1;
}
