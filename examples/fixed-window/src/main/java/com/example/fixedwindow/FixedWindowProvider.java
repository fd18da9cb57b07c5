package com.example.fixedwindow;

import io.dma4j.spi.BackendContext;
import io.dma4j.spi.DmaProvider;
import io.dma4j.spi.DmaRole;
import io.dma4j.spi.DmaSpi;
import io.dma4j.spi.MappingBackend;

import java.util.Set;

/**
 * An example vendor provider: a translation unit with one fixed IOVA window of 256 MiB at
 * 2 GiB, described by a single-level table of 4 KiB entries. Priority -5, so it serves a
 * device only when configured ({@code dma4j.backend.<device>=fixed-window}).
 */
public final class FixedWindowProvider implements DmaProvider {
    @Override
    public String name() {
        return "fixed-window";
    }

    @Override
    public String spiVersion() {
        return DmaSpi.VERSION; // inlined at compile time: the SPI this jar was built against
    }

    @Override
    public String version() {
        return "1.0";
    }

    @Override
    public Set<DmaRole> roles() {
        return Set.of(DmaRole.MAPPING_BACKEND);
    }

    @Override
    public int priority() {
        return -5;
    }

    @Override
    public MappingBackend createBackend(BackendContext ctx) {
        return new FixedWindowBackend(ctx);
    }
}
