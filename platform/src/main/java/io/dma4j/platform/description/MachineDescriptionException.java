package io.dma4j.platform.description;

/**
 * A machine description that cannot be used. The message names the file, the JSON path
 * inside it and what is wrong, for example
 * {@code my-machine.json: $.devices[2].dmaBits: expected an integer 1..64, got "x"}.
 * Nothing was built. Control and bidirectional-control characters in the message are
 * escaped ({@link io.dma4j.platform.PrintableText}), so it always prints as one line.
 */
public final class MachineDescriptionException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String source;
    private final String path;
    private final String problem;

    /**
     * @param source  the file (or "built-in default")
     * @param path    JSON path of the offending element ("$" for the whole document)
     * @param problem what is wrong
     */
    public MachineDescriptionException(String source, String path, String problem) {
        super(io.dma4j.platform.PrintableText.escape(source + ": " + path + ": " + problem)); // one line, whatever the names hold
        this.source = source;
        this.path = path;
        this.problem = problem;
    }

    /** The file or source name. */
    public String source() {
        return source;
    }

    /** The JSON path of the offending element. */
    public String path() {
        return path;
    }

    /** What is wrong. */
    public String problem() {
        return problem;
    }
}
