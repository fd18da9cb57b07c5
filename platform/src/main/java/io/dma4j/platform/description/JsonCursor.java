package io.dma4j.platform.description;

import com.fasterxml.jackson.databind.JsonNode;
import io.dma4j.platform.ByteSize;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * A position in a JSON document that knows its path, so every problem can be reported as
 * "file: $.devices[2].bars[0].size: what is wrong". Not thread-safe (used during parsing).
 */
final class JsonCursor {
    private final JsonNode node;
    private final String path;
    private final String source;

    JsonCursor(JsonNode node, String path, String source) {
        this.node = node;
        this.path = path;
        this.source = source;
    }

    String source() {
        return source;
    }

    String path() {
        return path;
    }

    MachineDescriptionException error(String problem) {
        return new MachineDescriptionException(source, path, problem);
    }

    /** This node must be an object with only these fields. */
    JsonCursor object(Set<String> allowed) {
        if (!node.isObject()) {
            throw error("expected an object, got " + describe());
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw new MachineDescriptionException(source, path + "." + f, "unknown field (known here: " + String.join(", ", new java.util.TreeSet<>(allowed)) + ")");
            }
        }
        return this;
    }

    /** The field names of this object. @throws MachineDescriptionException when it is not an object */
    List<String> fieldNames() {
        if (!node.isObject()) {
            throw error("expected an object, got " + describe());
        }
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    JsonCursor required(String field) {
        JsonNode child = node.get(field);
        if (child == null || child.isNull()) {
            throw new MachineDescriptionException(source, path + "." + field, "missing (required)");
        }
        return new JsonCursor(child, path + "." + field, source);
    }

    /** The field, or {@code null} when absent or JSON null. */
    JsonCursor optional(String field) {
        JsonNode child = node.get(field);
        return child == null || child.isNull() ? null : new JsonCursor(child, path + "." + field, source);
    }

    List<JsonCursor> list() {
        if (!node.isArray()) {
            throw error("expected an array, got " + describe());
        }
        List<JsonCursor> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            out.add(new JsonCursor(node.get(i), path + "[" + i + "]", source));
        }
        return out;
    }

    String text() {
        if (!node.isTextual() || node.asText().isBlank()) {
            throw error("expected a non-empty string, got " + describe());
        }
        return node.asText();
    }

    /** A name: letters, digits, '.', '_' and '-'. */
    String name() {
        String s = text();
        if (!s.matches("[A-Za-z0-9._-]+")) {
            throw error("expected a name of letters, digits, '.', '_' or '-', got \"" + s + "\"");
        }
        return s;
    }

    boolean bool() {
        if (!node.isBoolean()) {
            throw error("expected true or false, got " + describe());
        }
        return node.booleanValue();
    }

    int integer(int min, int max) {
        if (!node.canConvertToInt() || !node.isIntegralNumber() || node.intValue() < min || node.intValue() > max) {
            throw error("expected an integer " + min + ".." + max + ", got " + describe());
        }
        return node.intValue();
    }

    /**
     * A byte count or address: a JSON integer, or a string such as "4GiB", "64 MiB",
     * "0x1_0000_0000" or "4096".
     */
    long size() {
        if (node.isIntegralNumber()) {
            if (!node.canConvertToLong() || node.longValue() < 0) {
                throw error("expected a non-negative size or address, got " + describe());
            }
            return node.longValue();
        }
        if (node.isTextual()) {
            try {
                return ByteSize.parse(node.asText());
            } catch (IllegalArgumentException e) {
                throw error(e.getMessage());
            }
        }
        throw error("expected a size or address like 4096, \"64MiB\" or \"0x1000\", got " + describe());
    }

    /** An all-ones mask given as a size/address value (for example "0xffffffff"), or -1 for "none". */
    long mask() {
        if (node.isTextual() && node.asText().equalsIgnoreCase("none")) {
            return -1L;
        }
        long m = size();
        if ((m & (m + 1)) != 0) {
            throw error("expected a mask of the form 2^n-1 such as \"0xffffffff\" (or \"none\"), got " + describe());
        }
        return m;
    }

    private String describe() {
        if (node.isTextual()) {
            return "\"" + node.asText() + "\"";
        }
        if (node.isContainerNode()) {
            return node.isArray() ? "an array" : "an object";
        }
        return node.toString();
    }
}
