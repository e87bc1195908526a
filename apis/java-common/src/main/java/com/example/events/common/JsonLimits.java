package com.example.events.common;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.IOException;

/**
 * The contract's parse-time limits, measured in one pass without recursion or number parsing, so any input
 * is cheap and safe: nesting depth and the length of numbers.
 *
 * <p>A REST body nests at most {@link #MAX_NESTING} levels of objects and arrays (the body itself is level
 * 1); a gRPC attribute value that is JSON text at most {@link #MAX_ATTRIBUTE_NESTING} (its object is level 5
 * of the canonical document). Every number is at most {@link #MAX_NUMBER_LENGTH} characters of JSON text
 * (sign, digits, {@code .}, exponent). Malformed JSON is still "malformed JSON" however deep it is or however
 * long its digit runs are, so a text that breaks a limit is checked in full by a streaming parser without
 * limits ({@link #scan}): Jackson's own limits ({@link StreamReadConstraints}) never decide an answer.
 */
public final class JsonLimits {

    public static final int MAX_NESTING = 64;
    public static final int MAX_ATTRIBUTE_NESTING = MAX_NESTING - 5;
    public static final int MAX_NUMBER_LENGTH = 100;

    /** Parses at any depth and number length: the parser keeps its nesting as a linked list, not on the stack. */
    private static final JsonFactory UNLIMITED = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(Integer.MAX_VALUE)
                    .maxNumberLength(Integer.MAX_VALUE)
                    .maxStringLength(Integer.MAX_VALUE)
                    .build())
            .build();

    /**
     * What {@link #measure} found: exact for valid JSON; for malformed text possibly wrong, which a
     * {@link #scan} then settles.
     *
     * @param tooDeep       objects and arrays nest deeper than the limit asked for (the measure stops there)
     * @param numberTooLong a number is longer than {@link #MAX_NUMBER_LENGTH} characters (before any
     *                      nesting beyond the limit)
     */
    public record Shape(boolean tooDeep, boolean numberTooLong) {

        public boolean withinLimits() {
            return !tooDeep && !numberTooLong;
        }
    }

    /** What a full scan of a JSON text found. */
    public record Scan(boolean valid, boolean containsNul) {
    }

    private JsonLimits() {
    }

    /** Measures UTF-8 bytes (brackets, quote, backslash and number characters are all ASCII). */
    public static Shape measure(byte[] text, int nestingLimit) {
        return measure(new Text() {
            @Override
            public int length() {
                return text.length;
            }

            @Override
            public int charAt(int index) {
                return text[index];
            }
        }, nestingLimit);
    }

    public static Shape measure(String text, int nestingLimit) {
        return measure(new Text() {
            @Override
            public int length() {
                return text.length();
            }

            @Override
            public int charAt(int index) {
                return text.charAt(index);
            }
        }, nestingLimit);
    }

    /** True when the text nests objects and arrays deeper than {@code limit} (see {@link #measure}). */
    public static boolean nestsDeeper(byte[] text, int limit) {
        return measure(text, limit).tooDeep();
    }

    public static boolean nestsDeeper(String text, int limit) {
        return measure(text, limit).tooDeep();
    }

    private interface Text {
        int length();

        int charAt(int index);
    }

    /**
     * One pass over the text outside strings: counts brackets and the longest run of number characters
     * ({@code 0-9 + - . e E}). In valid JSON such a run outside a string is exactly one number's text (the
     * {@code e} of {@code true} and {@code false} is a run of one).
     */
    private static Shape measure(Text text, int nestingLimit) {
        int depth = 0;
        int numberRun = 0;
        boolean numberTooLong = false;
        boolean inString = false;
        boolean escaped = false;
        for (int i = 0, length = text.length(); i < length; i++) {
            int c = text.charAt(i);
            if (inString) {
                if (escaped) {
                    escaped = false;
                } else if (c == '\\') {
                    escaped = true;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (isNumberCharacter(c)) {
                numberTooLong |= ++numberRun > MAX_NUMBER_LENGTH;
            } else {
                numberRun = 0;
                if (c == '"') {
                    inString = true;
                } else if (c == '{' || c == '[') {
                    if (++depth > nestingLimit) {
                        return new Shape(true, numberTooLong);
                    }
                } else if (c == '}' || c == ']') {
                    depth--;
                }
            }
        }
        return new Shape(false, numberTooLong);
    }

    private static boolean isNumberCharacter(int c) {
        return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
    }

    /** Checks that the bytes are exactly one JSON value (in valid UTF-8) at any depth and number length. */
    public static Scan scan(byte[] text) {
        try (JsonParser parser = UNLIMITED.createParser(text)) {
            return scan(parser);
        } catch (IOException malformed) {
            return new Scan(false, false);
        }
    }

    /** Checks that the string is exactly one JSON value at any depth and number length. */
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
