package com.example.events.common;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The one JSON configuration of the Java APIs.
 *
 * <p>Numbers keep their digits: floats become {@link java.math.BigDecimal} without stripping
 * trailing zeros, so {@code 24439.750} is stored as sent and never round-trips through a double.
 *
 * <p>Request bodies and gRPC attribute values are read by {@link #readTree}, not {@code MAPPER.readTree}:
 * a number whose exponent does not fit in 32 bits ({@code 1e2147483648}) is valid JSON that no
 * {@link java.math.BigDecimal} holds, and Jackson's tree building throws an unchecked
 * {@link NumberFormatException} for it. The contract limits a number only by its length; whether its value
 * can be stored is PostgreSQL's decision, as for every other API, so such a number is kept as its exact
 * text and written back verbatim.
 */
public final class Json {

    /**
     * Jackson's number limit is a backstop only: it counts digits without sign, point and exponent, so a
     * number the contract accepts (at most 100 characters of text) always passes it; {@link JsonLimits}
     * measures the exact text before anything is parsed.
     */
    public static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxNumberLength(JsonLimits.MAX_NUMBER_LENGTH)
                            .build())
                    .build())
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
            .build();

    private Json() {
    }

    /**
     * Parses one complete JSON text; anything else (empty, trailing data, bad UTF-8) is malformed. A
     * well-formed body nesting deeper than {@link JsonLimits#MAX_NESTING} levels is too deep, and one with a
     * number longer than {@link JsonLimits#MAX_NUMBER_LENGTH} characters is rejected; both are decided
     * before the tree is built, so no long number is ever converted.
     */
    public static JsonNode parse(byte[] body) {
        JsonLimits.Shape shape = JsonLimits.measure(body, JsonLimits.MAX_NESTING);
        if (!shape.withinLimits()) {
            if (!JsonLimits.scan(body).valid()) {
                throw new ValidationException(Messages.MALFORMED_JSON);
            }
            throw new ValidationException(shape.tooDeep() ? Messages.BODY_TOO_DEEP : Messages.NUMBER_TOO_LONG);
        }
        try (JsonParser parser = MAPPER.createParser(body)) {
            JsonNode node = readTree(parser);
            if (node == null) {
                throw new ValidationException(Messages.MALFORMED_JSON);
            }
            return node;
        } catch (IOException e) {
            throw new ValidationException(Messages.MALFORMED_JSON);
        }
    }

    /**
     * Reads one complete JSON text into the tree {@code MAPPER.readTree} builds (same node types, floats as
     * {@link java.math.BigDecimal} with their trailing zeros, a repeated key's last value wins), except that
     * a number no BigDecimal holds becomes a raw value node of its exact text.
     *
     * @return the tree, or {@code null} when the text holds no value (empty or only whitespace)
     * @throws IOException when the text is not one complete JSON text (malformed, or data after the value)
     */
    static JsonNode readTree(JsonParser parser) throws IOException {
        if (parser.nextToken() == null) {
            return null;
        }
        JsonNode root = readValue(parser, MAPPER.getNodeFactory());
        if (parser.nextToken() != null) {
            throw new JsonParseException(parser, "data after the JSON value");
        }
        return root;
    }

    /** The value at the parser's current token; recursion is bounded by the parser's nesting limit. */
    private static JsonNode readValue(JsonParser parser, JsonNodeFactory nodes) throws IOException {
        return switch (parser.currentToken()) {
            case START_OBJECT -> {
                ObjectNode object = nodes.objectNode();
                for (String name = parser.nextFieldName(); name != null; name = parser.nextFieldName()) {
                    parser.nextToken();
                    object.set(name, readValue(parser, nodes));
                }
                yield object;
            }
            case START_ARRAY -> {
                ArrayNode array = nodes.arrayNode();
                for (JsonToken token = parser.nextToken(); token != JsonToken.END_ARRAY; token = parser.nextToken()) {
                    if (token == null) {
                        throw new JsonParseException(parser, "unexpected end of input in an array");
                    }
                    array.add(readValue(parser, nodes));
                }
                yield array;
            }
            case VALUE_STRING -> nodes.textNode(parser.getText());
            case VALUE_NUMBER_INT -> switch (parser.getNumberType()) {
                case INT -> nodes.numberNode(parser.getIntValue());
                case LONG -> nodes.numberNode(parser.getLongValue());
                default -> nodes.numberNode(parser.getBigIntegerValue());
            };
            case VALUE_NUMBER_FLOAT -> decimal(parser, nodes);
            case VALUE_TRUE -> nodes.booleanNode(true);
            case VALUE_FALSE -> nodes.booleanNode(false);
            case VALUE_NULL -> nodes.nullNode();
            default -> throw new JsonParseException(parser, "unexpected token " + parser.currentToken());
        };
    }

    private static JsonNode decimal(JsonParser parser, JsonNodeFactory nodes) throws IOException {
        try {
            return nodes.numberNode(parser.getDecimalValue());
        } catch (NumberFormatException exponentBeyondInt) {
            // The parser has checked the syntax: only BigDecimal's 32-bit scale is exceeded.
            return nodes.rawValueNode(new RawValue(parser.getText()));
        }
    }

    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static byte[] writeBytes(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
