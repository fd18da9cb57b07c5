package io.dma4j.fuzz;

import io.dma4j.platform.Machine;
import io.dma4j.platform.description.MachineDescription;
import io.dma4j.platform.description.MachineDescriptionException;
import io.dma4j.platform.description.MachineDescriptionParser;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzing the machine description: the built-in description with random edits (a range
 * deleted, text inserted from a JSON-ish alphabet, a range repeated, a number changed). Each
 * either builds a machine or is refused with a {@link MachineDescriptionException} that
 * names the source and fits on one line; nothing else may escape, and nothing is left open.
 */
class MachineDescriptionFuzzTest {
    private static final String SOURCE = "fuzzed.json";
    private static final String DEFAULT;

    static {
        try (InputStream in = Machine.class.getResourceAsStream("/io/dma4j/platform/description/default-machine.json")) {
            DEFAULT = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One edit of the text. */
    record Edit(int kind, int at, int length, String text) {
        String apply(String s) {
            int a = Math.floorMod(at, s.length() + 1);
            int b = Math.min(s.length(), a + length);
            return switch (kind) {
                case 0 -> s.substring(0, a) + s.substring(b); // delete
                case 1 -> s.substring(0, a) + text + s.substring(a); // insert
                case 2 -> s.substring(0, b) + s.substring(a, b) + s.substring(b); // repeat
                default -> { // change the next number
                    int d = a;
                    while (d < s.length() && !Character.isDigit(s.charAt(d))) {
                        d++;
                    }
                    int e = d;
                    while (e < s.length() && Character.isDigit(s.charAt(e))) {
                        e++;
                    }
                    yield d >= s.length() ? s : s.substring(0, d) + text.chars().filter(Character::isDigit).count() * 7919L + s.substring(e);
                }
            };
        }
    }

    @Provide
    Arbitrary<List<Edit>> edits() {
        Arbitrary<String> text = Arbitraries.oneOf(
                Arbitraries.strings().withChars("{}[],:\"0123456789abcdefxMiBGK-. \n\\\u202e\u0000").ofMaxLength(12),
                Arbitraries.of("\"name\": \"x\",", "\"port\": \"rp0\",", "\"size\": \"0\",", "\"dmaBits\": 99,", "\"iommu\": \"none\",",
                        "\"model\": \"nvme\",", "\"bars\": [],", "\"base\": \"0xffffffffffffffff\",", "\"parent\": \"hb0\",", "null", "-1", "1e400"));
        return Combinators.combine(Arbitraries.integers().between(0, 3), Arbitraries.integers().between(0, DEFAULT.length()),
                Arbitraries.integers().between(0, 200), text).as(Edit::new).list().ofMinSize(1).ofMaxSize(4);
    }

    @Property
    void anEditedDescriptionBuildsOrIsRefusedWithItsSourceOnOneLine(@ForAll("edits") List<Edit> edits) {
        String text = DEFAULT;
        for (Edit e : edits) {
            text = e.apply(text);
        }
        try {
            MachineDescription d = MachineDescriptionParser.parse(text, SOURCE);
            try (Machine m = Machine.create(d)) {
                assertThat(m.devices()).isNotNull();
            }
        } catch (MachineDescriptionException e) {
            assertThat(e.getMessage()).startsWith(SOURCE).doesNotContain("\n").doesNotContain("\r").doesNotContain("\u202e").doesNotContain("\u0000");
        }
    }
}
