package com.example.events.common;

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
     * An attribute value with the contract's checks: {@code tooDeep} when it is JSON text nesting deeper
     * than {@link JsonNesting#MAX_ATTRIBUTE_NESTING} levels ({@code value} is then JSON null: the event is
     * rejected) and then {@code containsNul} when a string or key of it contains U+0000 (a value that is
     * kept is in the tree, where the validator looks for NUL itself).
     */
    public record Checked(JsonNode value, boolean tooDeep, boolean containsNul) {
    }

    public static Checked check(String value) {
        if (JsonNesting.nestsDeeper(value, JsonNesting.MAX_ATTRIBUTE_NESTING)) {
            JsonNesting.Scan scan = JsonNesting.scan(value);
            if (scan.valid()) {
                return new Checked(NullNode.getInstance(), true, scan.containsNul());
            }
            return new Checked(TextNode.valueOf(value), false, false);
        }
        return new Checked(fromWireString(value), false, false);
    }

    public static JsonNode fromWireString(String value) {
        if (value.isBlank()) {
            return TextNode.valueOf(value);
        }
        try {
            JsonNode parsed = Json.MAPPER.readTree(value);
            return parsed == null || parsed.isMissingNode() ? TextNode.valueOf(value) : parsed;
        } catch (IOException notJson) {
            return TextNode.valueOf(value);
        }
    }
}
