package io.dma4j.platform.device;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The machine's record of failed device accesses (what an IOMMU fault log or a PCIe AER
 * log shows). It keeps the most recent {@link #CAPACITY} faults and counts all of them.
 *
 * <p>Thread safety: all methods are safe to call concurrently.
 */
public final class FaultLog {
    /** How many recent faults are kept. */
    public static final int CAPACITY = 4096;

    private final ArrayDeque<Fault> recent = new ArrayDeque<>();
    private final Map<String, Long> perDevice = new HashMap<>();
    private long total;

    /** Records a fault and returns it. */
    public synchronized Fault record(String device, long busAddress, DmaAccess access, FaultReason reason, String translation) {
        Fault f = new Fault(total++, device, busAddress, access, reason, translation);
        if (recent.size() == CAPACITY) {
            recent.removeFirst();
        }
        recent.addLast(f);
        perDevice.merge(device, 1L, Long::sum);
        DeviceFaultEvent e = new DeviceFaultEvent();
        if (e.shouldCommit()) {
            e.device = device;
            e.busAddress = busAddress;
            e.access = access.name();
            e.reason = reason.name();
            e.translation = translation;
            e.commit();
        }
        return f;
    }

    /** Faults recorded since the machine started. */
    public synchronized long count() {
        return total;
    }

    /** Faults recorded for one device. */
    public synchronized long count(String device) {
        return perDevice.getOrDefault(device, 0L);
    }

    /** The most recent faults, oldest first. */
    public synchronized List<Fault> recent() {
        return new ArrayList<>(recent);
    }

    /** The most recent fault, or {@code null}. */
    public synchronized Fault last() {
        return recent.peekLast();
    }
}
