package io.dma4j.conformance;

import io.dma4j.platform.Machine;
import io.dma4j.platform.description.MachineDescriptionParser;

/**
 * The machines the kit runs its mapping-backend rules on: the built-in machine and
 * variants of it in which the copy engine {@code dmatest0} is harder to map for. Return one
 * from {@link BackendFixture#createMachine()} (with {@link #create()}) to run a contract on it.
 */
public enum KitMachine {
    /** The built-in machine: dmatest0 drives 64 address bits, no IOMMU. */
    BUILT_IN(null, null),
    /** dmatest0 drives 32 address bits: memory above 4 GiB must bounce or be remapped. */
    MASK_32("\"name\": \"dmatest0\", \"model\": \"copy-engine\", \"port\": \"rp2\", \"dmaBits\": 64",
            "\"name\": \"dmatest0\", \"model\": \"copy-engine\", \"port\": \"rp2\", \"dmaBits\": 32"),
    /** dmatest0 has NVMe's min align mask (4 KiB − 1): bounce buffers keep the low 12 bits. */
    MIN_ALIGN_4K("\"name\": \"dmatest0\", \"model\": \"copy-engine\", \"port\": \"rp2\", \"dmaBits\": 64",
            "\"name\": \"dmatest0\", \"model\": \"copy-engine\", \"port\": \"rp2\", \"dmaBits\": 64, \"minAlignMask\": \"0xfff\""),
    /** dmatest0 sees memory 1 GiB above its physical address (a DMA range offset, as {@code dma-ranges} gives). */
    RANGE_OFFSET("\"name\": \"dmatest0\", \"model\": \"copy-engine\", \"port\": \"rp2\", \"dmaBits\": 64",
            "\"name\": \"dmatest0\", \"model\": \"copy-engine\", \"port\": \"rp2\", \"dmaBits\": 64, \"rangeOffset\": \"1GiB\""),
    /** Memory encryption: every streaming mapping must bounce through shared memory. */
    ENCRYPTED("\"encryptedMemory\": false", "\"encryptedMemory\": true");

    private final String from;
    private final String to;

    KitMachine(String from, String to) {
        this.from = from;
        this.to = to;
    }

    /** A fresh machine of this variant. */
    public Machine create() {
        if (from == null) {
            return Machine.createDefault();
        }
        String json = MachineDescriptionParser.defaultJson();
        if (!json.contains(from)) {
            throw new IllegalStateException("the built-in machine changed: kit variant " + this + " cannot find " + from);
        }
        return Machine.create(MachineDescriptionParser.parse(json.replace(from, to), "kit machine " + name().toLowerCase()));
    }
}
