package io.dma4j.consumers.mm;

/**
 * Why a range of a process address space is being invalidated ({@code enum mmu_notifier_event}
 * in include/linux/mmu_notifier.h): the events {@link ProcessMemory} raises.
 */
public enum MmuNotifierEvent {
    /** The range is being unmapped ({@code munmap}). */
    UNMAP,
    /** Page-table entries are cleared: {@code MADV_DONTNEED}, a copy-on-write break. */
    CLEAR,
    /** The protection of a whole VMA changes ({@code mprotect}). */
    PROTECTION_VMA,
    /** Pages are write-protected without a VMA change ({@code page_mkclean}, {@code fork}). */
    PROTECTION_PAGE,
    /** A page moves to another frame (migration: copy, then remap). */
    MIGRATE
}
