package com.example.events.common;

import com.fasterxml.jackson.databind.JsonNode;
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
