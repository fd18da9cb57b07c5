package io.dma4j.consumers.dmabuf;

import io.dma4j.api.DmaDirection;
import io.dma4j.api.ScatterList;

/**
 * A static exporter of ordinary memory pages (a system-memory heap's dma-buf): no pin, so
 * its memory never moves; each attachment's device gets the pages as a mapped scatter list.
 *
 * <p>Thread safety: immutable.
 */
public final class PagesExporter implements DmaBufExporter {
    private final long[] pages;
    private final long pageSize;

    private PagesExporter(long[] pages, long pageSize) {
        this.pages = pages.clone();
        this.pageSize = pageSize;
    }

    /** A buffer of the given physical pages of {@code pageSize} bytes each. */
    public static DmaBuf export(String name, long[] pages, long pageSize) {
        return new DmaBuf(name, pages.length * pageSize, new PagesExporter(pages, pageSize));
    }

    @Override
    public boolean dynamic() {
        return false;
    }

    @Override
    public DmaVec map(DmaBufAttachment a, DmaDirection dir) {
        return mapPages(a, pages, pageSize, dir);
    }

    @Override
    public void unmap(DmaBufAttachment a, DmaVec mapping, DmaDirection dir) {
        unmapPages(a, mapping, dir);
    }

    /** Pages mapped for the attachment's device as one scatter list ({@code dma_map_sgtable}). */
    static DmaVec mapPages(DmaBufAttachment a, long[] pages, long pageSize, DmaDirection dir) {
        ScatterList sg = new ScatterList(pages.length);
        for (int i = 0; i < pages.length; i++) {
            sg.set(i, pages[i], pageSize);
        }
        int n = a.device().mapSg(sg, pages.length, dir, 0);
        long[] addr = new long[n];
        long[] len = new long[n];
        for (int i = 0; i < n; i++) {
            addr[i] = sg.dmaAddress(i);
            len[i] = sg.dmaLength(i);
        }
        return new DmaVec(DmaVec.Kind.SCATTER_LIST, addr, len, n, null, new Object[] {sg, pages.length});
    }

    /** Undoes {@link #mapPages}. */
    static void unmapPages(DmaBufAttachment a, DmaVec mapping, DmaDirection dir) {
        Object[] state = (Object[]) mapping.exporterState;
        a.device().unmapSg((ScatterList) state[0], (Integer) state[1], dir, 0);
    }
}
