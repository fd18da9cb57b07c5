package io.dma4j.api;

/**
 * DMA attribute flags ({@code DMA_ATTR_*}); combine with {@code |}. Bit positions match
 * the kernel's, so values read from kernel traces mean the same here.
 */
public final class DmaAttrs {
    /** No attributes. */
    public static final int NONE = 0;
    /** Device accesses may be reordered (relaxed ordering). */
    public static final int WEAK_ORDERING = 1 << 1;
    /** Allocation may be write-combined. */
    public static final int WRITE_COMBINE = 1 << 2;
    /** Allocation needs no CPU mapping. */
    public static final int NO_KERNEL_MAPPING = 1 << 4;
    /** Skip CPU cache maintenance and bounce-buffer copies on map/unmap. */
    public static final int SKIP_CPU_SYNC = 1 << 5;
    /** Physically contiguous allocation. */
    public static final int FORCE_CONTIGUOUS = 1 << 6;
    /** Hint: do not bother with high-order pages. */
    public static final int ALLOC_SINGLE_PAGES = 1 << 7;
    /** Suppress allocation-failure and bounce-full messages. */
    public static final int NO_WARN = 1 << 8;
    /** Mapping accessible only at elevated device privilege. */
    public static final int PRIVILEGED = 1 << 9;
    /** The address is not RAM (a BAR): no CPU cache work, never bounced, mapped as MMIO. */
    public static final int MMIO = 1 << 10;
    /** Silences the debug checker's cacheline-overlap tracking. */
    public static final int DEBUGGING_IGNORE_CACHELINES = 1 << 11;
    /** Fail wherever bouncing or cache maintenance would be needed. */
    public static final int REQUIRE_COHERENT = 1 << 12;

    /** All defined bits. */
    public static final int ALL = WEAK_ORDERING | WRITE_COMBINE | NO_KERNEL_MAPPING | SKIP_CPU_SYNC | FORCE_CONTIGUOUS
            | ALLOC_SINGLE_PAGES | NO_WARN | PRIVILEGED | MMIO | DEBUGGING_IGNORE_CACHELINES | REQUIRE_COHERENT;

    private DmaAttrs() {
    }

    /** Whether {@code attrs} has every bit of {@code flag}. */
    public static boolean has(int attrs, int flag) {
        return (attrs & flag) == flag;
    }
}
