package com.example.events.common;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.IOException;

/**
 * The contract's nesting limits, measured without recursion so any input is cheap and safe.
 *
 * <p>A REST body nests at most {@link #MAX_NESTING} levels of objects and arrays (the body itself is level
 * 1); a gRPC attribute value that is JSON text at most {@link #MAX_ATTRIBUTE_NESTING} (its object is level 5
 * of the canonical document). Malformed JSON is still "malformed JSON" however deep it is, so a text that
 * is too deep is checked in full by a streaming parser without a depth limit: Jackson's own limit
 * ({@link StreamReadConstraints}, 1000 by default) never decides an answer.
 */
public final class JsonNesting {

    public static final int MAX_NESTING = 64;
    public static final int MAX_ATTRIBUTE_NESTING = MAX_NESTING - 5;

    /** Parses at any depth: the parser keeps its nesting as a linked list, not on the call stack. */
    private static final JsonFactory UNLIMITED = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(Integer.MAX_VALUE)
                    .maxNumberLength(Integer.MAX_VALUE)
                    .maxStringLength(Integer.MAX_VALUE)
                    .build())
            .build();

    /** What a full scan of a JSON text found. */
    public record Scan(boolean valid, boolean containsNul) {
    }

    private JsonNesting() {
    }

    /**
     * True when the text nests objects and arrays deeper than {@code limit}. Counts brackets outside strings
     * in one pass; exact for valid JSON, possibly wrong for malformed text, which the parser then rejects.
     */
    public static boolean nestsDeeper(byte[] text, int limit) {
        int depth = 0;
        boolean inString = false;
        boolean escaped = false;
        for (byte c : text) {
            if (inString) {
                if (escaped) {
                    escaped = false;
                } else if (c == '\\') {
                    escaped = true;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                if (++depth > limit) {
                    return true;
                }
            } else if (c == '}' || c == ']') {
                depth--;
            }
        }
        return false;
    }

    /** {@link #nestsDeeper(byte[], int)} for a string (the brackets, quote and backslash are all ASCII). */
    public static boolean nestsDeeper(String text, int limit) {
        int depth = 0;
        boolean inString = false;
        boolean escaped = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (inString) {
                if (escaped) {
                    escaped = false;
                } else if (c == '\\') {
                    escaped = true;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                if (++depth > limit) {
                    return true;
                }
            } else if (c == '}' || c == ']') {
                depth--;
            }
        }
        return false;
    }

    /** Checks that the bytes are exactly one JSON value (in valid UTF-8) at any depth. */
    public static Scan scan(byte[] text) {
        try (JsonParser parser = UNLIMITED.createParser(text)) {
            return scan(parser);
        } catch (IOException malformed) {
            return new Scan(false, false);
        }
    }

    /** Checks that the string is exactly one JSON value at any depth. */
    public static Scan scan(String text) {
        try (JsonParser parser = UNLIMITED.createParser(text)) {
            return scan(parser);
        } catch (IOException malformed) {
            return new Scan(false, false);
        }
    }

    private static Scan scan(JsonParser parser) throws IOException {
        boolean nul = false;
        long depth = 0;
        JsonToken token = parser.nextToken();
        if (token == null) {
            return new Scan(false, false);
        }
        do {
            switch (token) {
                case START_OBJECT, START_ARRAY -> depth++;
                case END_OBJECT, END_ARRAY -> depth--;
                // Decoding the text also checks its UTF-8.
                case FIELD_NAME, VALUE_STRING -> nul |= parser.getText().indexOf('\0') >= 0;
                default -> {
                }
            }
        } while (depth > 0 && (token = parser.nextToken()) != null);
        if (depth > 0 || parser.nextToken() != null) {
            return new Scan(false, false); // unclosed, or something follows the value
        }
        return new Scan(true, nul);
    }
}
