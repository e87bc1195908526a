package com.example.events.common;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.IOException;

/**
 * gRPC's {@code map<string, string>} attribute values: a value that is one whole JSON text (RFC 8259,
 * surrounding whitespace allowed, nothing after it) is stored as that JSON; anything else is stored as a
 * JSON string. So {@code "12"} becomes {@code 12} and {@code "abc"} stays {@code "abc"}.
 */
public final class AttributeValues {

    private AttributeValues() {
    }

    /**
     * An attribute value with the contract's checks. When it is JSON text nesting deeper than
     * {@link JsonLimits#MAX_ATTRIBUTE_NESTING} levels {@code tooDeep} is set, else when it has a number longer
     * than {@link JsonLimits#MAX_NUMBER_LENGTH} characters {@code numberTooLong}; either rejects the event, so
     * {@code value} is then JSON null and {@code containsNul} tells whether a string or key of it contains
     * U+0000 (a value that is kept is in the tree, where the validator looks for NUL itself).
     */
    public record Checked(JsonNode value, boolean tooDeep, boolean numberTooLong, boolean containsNul) {
    }

    public static Checked check(String value) {
        JsonLimits.Shape shape = JsonLimits.measure(value, JsonLimits.MAX_ATTRIBUTE_NESTING);
        if (!shape.withinLimits()) {
            JsonLimits.Scan scan = JsonLimits.scan(value);
            if (scan.valid()) {
                return new Checked(NullNode.getInstance(), shape.tooDeep(), !shape.tooDeep(), scan.containsNul());
            }
            // Not JSON text (e.g. a long run of digits inside words): an ordinary string, no limit applies.
            return new Checked(TextNode.valueOf(value), false, false, false);
        }
        return new Checked(fromWireString(value), false, false, false);
    }

    public static JsonNode fromWireString(String value) {
        if (value.isBlank()) {
            return TextNode.valueOf(value);
        }
        try (JsonParser parser = Json.MAPPER.createParser(value)) {
            JsonNode parsed = Json.readTree(parser);
            return parsed == null ? TextNode.valueOf(value) : parsed;
        } catch (IOException notJson) {
            return TextNode.valueOf(value);
        }
    }
}
