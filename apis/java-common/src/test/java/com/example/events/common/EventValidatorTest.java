package com.example.events.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class EventValidatorTest {

    static final String UUID = "550e8400-e29b-41d4-a716-446655440000";

    static String event(String header, String entities) {
        return "{\"eventHeader\":" + header + ",\"eventBody\":{\"entities\":" + entities + "}}";
    }

    static String header(String uuid) {
        return "{\"uuid\":" + uuid + ",\"eventName\":\"LoanCreated\",\"eventType\":\"LoanCreated\","
                + "\"createdDate\":\"2024-01-15T10:30:00Z\",\"savedDate\":\"2024-01-15T10:30:05Z\"}";
    }

    static final String GOOD_HEADER = header("\"" + UUID + "\"");
    static final String GOOD_ENTITY = "{\"entityType\":\"Loan\",\"entityId\":\"loan-1\",\"updatedAttributes\":{\"a\":1}}";

    static JsonNode json(String text) {
        return Json.parse(text.getBytes(StandardCharsets.UTF_8));
    }

    static String messageFor(String text) {
        try {
            EventValidator.validate(json(text));
        } catch (ValidationException e) {
            return e.getMessage();
        }
        return null;
    }

    @Test
    void acceptsTheContractExample() {
        ValidEvent event = EventValidator.validate(json(event(GOOD_HEADER, "[" + GOOD_ENTITY + "]")));
        assertThat(event.uuid()).isEqualTo(UUID);
        assertThat(event.eventName()).isEqualTo("LoanCreated");
        assertThat(event.createdDate()).isEqualTo("2024-01-15T10:30:00Z");
        assertThat(event.entities()).singleElement().satisfies(entity -> {
            assertThat(entity.entityType()).isEqualTo("Loan");
            assertThat(entity.entityId()).isEqualTo("loan-1");
        });
    }

    static Stream<Arguments> brokenRules() {
        String e = GOOD_ENTITY;
        return Stream.of(
                Arguments.of("[]", Messages.BODY_NOT_OBJECT),
                Arguments.of("\"event\"", Messages.BODY_NOT_OBJECT),
                Arguments.of("{}", Messages.HEADER_NOT_OBJECT),
                Arguments.of(event("\"header\"", "[" + e + "]"), Messages.HEADER_NOT_OBJECT),
                Arguments.of(event(header("12345"), "[" + e + "]"), Messages.UUID_INVALID),
                Arguments.of(event(header("\"550e8400e29b41d4a716446655440000\""), "[" + e + "]"), Messages.UUID_INVALID),
                Arguments.of(event(header("\"{" + UUID + "}\""), "[" + e + "]"), Messages.UUID_INVALID),
                Arguments.of(event(header("\"" + UUID + "\\n\""), "[" + e + "]"), Messages.UUID_INVALID),
                Arguments.of(event("{\"uuid\":\"" + UUID + "\",\"eventName\":\"\",\"eventType\":\"T\"}", "[" + e + "]"),
                        Messages.EVENT_NAME_INVALID),
                Arguments.of(event("{\"uuid\":\"" + UUID + "\",\"eventName\":42,\"eventType\":\"T\"}", "[" + e + "]"),
                        Messages.EVENT_NAME_INVALID),
                Arguments.of(event("{\"uuid\":\"" + UUID + "\",\"eventName\":\"N\"}", "[" + e + "]"),
                        Messages.EVENT_TYPE_INVALID),
                Arguments.of(event("{\"uuid\":\"" + UUID + "\",\"eventName\":\"N\",\"eventType\":\"T\","
                        + "\"createdDate\":\"2023-02-29T10:00:00Z\"}", "[" + e + "]"), Messages.CREATED_DATE_INVALID),
                Arguments.of(event("{\"uuid\":\"" + UUID + "\",\"eventName\":\"N\",\"eventType\":\"T\","
                        + "\"savedDate\":1705314600}", "[" + e + "]"), Messages.SAVED_DATE_INVALID),
                Arguments.of("{\"eventHeader\":" + GOOD_HEADER + "}", Messages.BODY_FIELD_NOT_OBJECT),
                Arguments.of("{\"eventHeader\":" + GOOD_HEADER + ",\"eventBody\":[]}", Messages.BODY_FIELD_NOT_OBJECT),
                Arguments.of(event(GOOD_HEADER, "[]"), Messages.ENTITIES_INVALID),
                Arguments.of(event(GOOD_HEADER, "{}"), Messages.ENTITIES_INVALID),
                Arguments.of(event(GOOD_HEADER, "[" + (e + ",").repeat(100) + e + "]"), Messages.ENTITIES_INVALID),
                Arguments.of(event(GOOD_HEADER, "[\"car\"]"), Messages.entityNotObject(0)),
                Arguments.of(event(GOOD_HEADER, "[" + e + ",{\"entityType\":\"1Car\",\"entityId\":\"x\","
                        + "\"updatedAttributes\":{}}]"), Messages.entityTypeInvalid(1)),
                Arguments.of(event(GOOD_HEADER, "[{\"entityType\":\"" + "A".repeat(65) + "\",\"entityId\":\"x\","
                        + "\"updatedAttributes\":{}}]"), Messages.entityTypeInvalid(0)),
                Arguments.of(event(GOOD_HEADER, "[{\"entityType\":\"Cär\",\"entityId\":\"x\",\"updatedAttributes\":{}}]"),
                        Messages.entityTypeInvalid(0)),
                Arguments.of(event(GOOD_HEADER, "[{\"entityType\":\"Car\",\"entityId\":\"\",\"updatedAttributes\":{}}]"),
                        Messages.entityIdInvalid(0)),
                Arguments.of(event(GOOD_HEADER, "[{\"entityType\":\"Car\",\"entityId\":\"" + "é".repeat(256)
                        + "\",\"updatedAttributes\":{}}]"), Messages.entityIdInvalid(0)),
                Arguments.of(event(GOOD_HEADER, "[{\"entityType\":\"Car\",\"entityId\":\"x\",\"updatedAttributes\":null}]"),
                        Messages.attributesInvalid(0)),
                Arguments.of(event(GOOD_HEADER, "[{\"entityType\":\"Car\",\"entityId\":\"x\","
                        + "\"updatedAttributes\":\"{}\"}]"), Messages.attributesInvalid(0)),
                Arguments.of(event(GOOD_HEADER, "[{\"entityType\":\"Car\",\"entityId\":\"x\","
                        + "\"updatedAttributes\":{\"a\\u0000\":1}}]"), Messages.NUL_CHARACTER),
                Arguments.of(event(GOOD_HEADER, "[{\"entityType\":\"Car\",\"entityId\":\"x\","
                        + "\"updatedAttributes\":{\"a\":{\"b\":[\"\\u0000\"]}}}]"), Messages.NUL_CHARACTER));
    }

    @ParameterizedTest
    @MethodSource("brokenRules")
    void answersTheFirstBrokenRuleWithItsExactMessage(String body, String message) {
        assertThat(messageFor(body)).isEqualTo(message);
    }

    @Test
    void earlierRuleWinsOverLaterOnes() {
        assertThat(messageFor(event(header("\"bad\""), "[]"))).isEqualTo(Messages.UUID_INVALID);
        // a NUL in the name is only reported after every entity passed
        String nulName = "{\"uuid\":\"" + UUID + "\",\"eventName\":\"a\\u0000\",\"eventType\":\"T\"}";
        assertThat(messageFor(event(nulName, "[]"))).isEqualTo(Messages.ENTITIES_INVALID);
        assertThat(messageFor(event(nulName, "[" + GOOD_ENTITY + "]"))).isEqualTo(Messages.NUL_CHARACTER);
    }

    @ParameterizedTest
    @ValueSource(strings = {"null", "\"\""})
    void nullOrEmptyDatesCountAsAbsent(String date) {
        String header = "{\"uuid\":\"" + UUID + "\",\"eventName\":\"N\",\"eventType\":\"T\",\"createdDate\":" + date
                + ",\"savedDate\":" + date + "}";
        ValidEvent event = EventValidator.validate(json(event(header, "[" + GOOD_ENTITY + "]")));
        assertThat(event.createdDate()).isNull();
        assertThat(event.savedDate()).isNull();
    }

    @Test
    void entityIdLimitCountsCodePointsNotUtf16Units() {
        String emojis = "🚗".repeat(255); // 255 code points, 510 UTF-16 units
        String body = event(GOOD_HEADER, "[{\"entityType\":\"Car\",\"entityId\":\"" + emojis + "\",\"updatedAttributes\":{}}]");
        assertThat(EventValidator.validate(json(body)).entities().get(0).entityId()).isEqualTo(emojis);
    }

    @Test
    void acceptsOneHundredEntitiesAndUnknownFields() {
        String body = "{\"extra\":1,\"eventHeader\":" + GOOD_HEADER + ",\"eventBody\":{\"entities\":["
                + (GOOD_ENTITY + ",").repeat(99) + GOOD_ENTITY + "],\"more\":true}}";
        assertThat(EventValidator.validate(json(body)).entities()).hasSize(100);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "   ", "{\"eventHeader\": {\"uuid\": ", "{'a': 1}", "{} trailing", "{}{}", "[1,]"})
    void malformedJsonIsRejected(String body) {
        assertThatThrownBy(() -> json(body)).isInstanceOf(ValidationException.class).hasMessage(Messages.MALFORMED_JSON);
    }

    @Test
    void invalidUtf8IsMalformed() {
        byte[] body = {'{', '"', 'a', '"', ':', '"', (byte) 0xff, (byte) 0xfe, '"', '}'};
        assertThatThrownBy(() -> Json.parse(body)).isInstanceOf(ValidationException.class)
                .hasMessage(Messages.MALFORMED_JSON);
    }
}
