package com.example.events.common;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The one JSON configuration of the Java APIs.
 *
 * <p>Numbers keep their digits: floats become {@link java.math.BigDecimal} without stripping
 * trailing zeros, so {@code 24439.750} is stored as sent and never round-trips through a double.
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
        try {
            JsonNode node = MAPPER.readTree(body);
            if (node == null || node.isMissingNode()) {
                throw new ValidationException(Messages.MALFORMED_JSON);
            }
            return node;
        } catch (IOException e) {
            throw new ValidationException(Messages.MALFORMED_JSON);
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
