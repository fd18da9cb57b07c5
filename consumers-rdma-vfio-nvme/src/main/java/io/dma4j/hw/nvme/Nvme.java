package io.dma4j.hw.nvme;

/**
 * The NVMe hardware interface (NVMe base specification): register offsets, queue entry
 * sizes, opcodes, status codes and descriptor types, as {@code include/linux/nvme.h} gives
 * them to the driver. Both the driver and the controller model use it; neither reaches into
 * the other.
 */
public final class Nvme {
    private Nvme() {
    }

    /** Controller page size (MPS = 0). */
    public static final long PAGE = 4096;
    /** Logical block size of the model's namespace. */
    public static final int LBA = 512;
    public static final int SQE_SIZE = 64;
    public static final int CQE_SIZE = 16;
    /** PRP entries per list page; the last one links to the next page when more follow. */
    public static final int PRPS_PER_PAGE = 512;

    // registers (BAR 0)
    public static final long REG_CAP = 0x00;
    public static final long REG_CC = 0x14;
    public static final long REG_CSTS = 0x1C;
    public static final long REG_AQA = 0x24;
    public static final long REG_ASQ = 0x28;
    public static final long REG_ACQ = 0x30;
    public static final long REG_DOORBELLS = 0x1000;

    // opcodes
    public static final int ADMIN_CREATE_SQ = 0x01;
    public static final int ADMIN_CREATE_CQ = 0x05;
    public static final int ADMIN_IDENTIFY = 0x06;
    public static final int IO_WRITE = 0x01;
    public static final int IO_READ = 0x02;

    // PSDT in CDW0 bits 15:14
    public static final int PSDT_PRP = 0;
    public static final int PSDT_SGL = 1;

    // SGL descriptor types (high nibble of byte 15)
    public static final int SGL_DATA_BLOCK = 0x0;
    public static final int SGL_SEGMENT = 0x2;
    public static final int SGL_LAST_SEGMENT = 0x3;

    // generic status codes
    public static final int SC_SUCCESS = 0x00;
    public static final int SC_INVALID_OPCODE = 0x01;
    public static final int SC_INVALID_FIELD = 0x02;
    public static final int SC_DATA_TRANSFER_ERROR = 0x04;
    /** Generic status 06h, Internal Error (an injected {@code device_command} failure): the command did nothing. */
    public static final int SC_INTERNAL_ERROR = 0x06;
    public static final int SC_DATA_SGL_LENGTH_INVALID = 0x0F;
    public static final int SC_SGL_DESCRIPTOR_TYPE_INVALID = 0x11;
    public static final int SC_INVALID_PRP_OFFSET = 0x13;
    public static final int SC_LBA_OUT_OF_RANGE = 0x80;

    /** The doorbell register of a submission queue's tail. */
    public static long sqTailDoorbell(int qid) {
        return REG_DOORBELLS + (2L * qid) * 4;
    }

    /** The doorbell register of a completion queue's head. */
    public static long cqHeadDoorbell(int qid) {
        return REG_DOORBELLS + (2L * qid + 1) * 4;
    }
}
