package com.example.events.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JsonLimitsTest {

    static String nested(int levels) {
        return "{\"a\":".repeat(levels) + "1" + "}".repeat(levels);
    }

    static String arrays(int levels) {
        return "[".repeat(levels) + "]".repeat(levels);
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static String messageOf(String body) {
        try {
            Json.parse(bytes(body));
            return null;
        } catch (ValidationException e) {
            return e.getMessage();
        }
    }

    /** text | limit | deeper */
    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "1 | 0 | false",
        "[] | 0 | true",
        "[] | 1 | false",
        "`{\"a\":[{\"b\":[]}]}` | 4 | false",
        "`{\"a\":[{\"b\":[]}]}` | 3 | true",
        "`[\"[[[[\", \"\\\"[[[[\"]` | 1 | false",
        "`[\"\\\\\", [[]]]` | 2 | true",
        "`[][][][]` | 1 | false",
    })
    void countsBracketsOutsideStrings(String text, int limit, boolean deeper) {
        assertThat(JsonLimits.nestsDeeper(bytes(text), limit)).isEqualTo(deeper);
        assertThat(JsonLimits.nestsDeeper(text, limit)).isEqualTo(deeper);
    }

    @Test
    void sixtyFourLevelsAreTheLimit() {
        assertThat(JsonLimits.nestsDeeper(bytes(arrays(64)), 64)).isFalse();
        assertThat(JsonLimits.nestsDeeper(bytes(arrays(65)), 64)).isTrue();
    }

    @Test
    void scanChecksTheWholeTextAtAnyDepth() {
        String deep = "{\"a\":[".repeat(100_000) + "\"x\"" + "]}".repeat(100_000);
        assertThat(JsonLimits.scan(deep)).isEqualTo(new JsonLimits.Scan(true, false));
        assertThat(JsonLimits.scan(bytes(deep))).isEqualTo(new JsonLimits.Scan(true, false));
        assertThat(JsonLimits.scan(deep + "]").valid()).isFalse();
        assertThat(JsonLimits.scan(deep + " x").valid()).isFalse();
        assertThat(JsonLimits.scan("[".repeat(100_000)).valid()).isFalse();
        assertThat(JsonLimits.scan("").valid()).isFalse();
        assertThat(JsonLimits.scan("[01]").valid()).isFalse();
        assertThat(JsonLimits.scan("[" + "9".repeat(5000) + "]").valid()).isTrue(); // no number length limit
        assertThat(JsonLimits.scan("[\"\\u0000\"]")).isEqualTo(new JsonLimits.Scan(true, true));
        assertThat(JsonLimits.scan("{\"\\u0000\":1}")).isEqualTo(new JsonLimits.Scan(true, true));
        assertThat(JsonLimits.scan("[\"\\\\u0000\"]")).isEqualTo(new JsonLimits.Scan(true, false));
        byte[] badUtf8 = {'[', '"', (byte) 0xff, '"', ']'};
        assertThat(JsonLimits.scan(badUtf8).valid()).isFalse();
    }

    @Test
    void bodyNestingDeeperThan64LevelsIsRejectedBeforeAnyOtherRule() {
        assertThat(messageOf(arrays(65))).isEqualTo(Messages.BODY_TOO_DEEP);
        assertThat(messageOf(arrays(200_000))).isEqualTo(Messages.BODY_TOO_DEEP); // beyond Jackson's 1000
        assertThat(messageOf(nested(65))).isEqualTo(Messages.BODY_TOO_DEEP);
        String event = EventValidatorTest.event(EventValidatorTest.GOOD_HEADER,
                "[{\"entityType\":\"Car\",\"entityId\":\"x\",\"updatedAttributes\":{\"deep\":" + nested(59) + "}}]");
        assertThat(messageOf(event)).isNull(); // the attribute object is level 5: 5 + 59 = 64
        assertThat(EventValidator.validate(Json.parse(bytes(event))).entities()).hasSize(1);
        assertThat(messageOf(event.replace(nested(59), nested(60)))).isEqualTo(Messages.BODY_TOO_DEEP);
        assertThat(messageOf("[" + event + "]")).isEqualTo(Messages.BODY_TOO_DEEP); // a batch is one level more
    }

    @Test
    void malformedJsonWinsOverNesting() {
        assertThat(messageOf(arrays(65) + "x")).isEqualTo(Messages.MALFORMED_JSON);
        assertThat(messageOf("[".repeat(200_000))).isEqualTo(Messages.MALFORMED_JSON);
        assertThatThrownBy(() -> Json.parse(new byte[] {'[', '[', (byte) 0xff}))
                .hasMessage(Messages.MALFORMED_JSON);
    }

    /** A number of exactly {@code length} characters of JSON text, e.g. {@code -1.5e+7} shapes. */
    static String number(String prefix, int length, String suffix) {
        return prefix + "1".repeat(length - prefix.length() - suffix.length()) + suffix;
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "`` | ``", "- | ``", "-0. | ``", "1. | e+5", "- | E-10", "`` | .5e5",
    })
    void aNumberOf100CharactersIsAcceptedAnd101IsNot(String prefix, String suffix) {
        String ok = number(prefix, 100, suffix);
        String tooLong = number(prefix, 101, suffix);
        assertThat(ok).hasSize(100);
        String event = EventValidatorTest.event(EventValidatorTest.GOOD_HEADER,
                "[{\"entityType\":\"Car\",\"entityId\":\"x\",\"updatedAttributes\":{\"n\":NUMBER}}]");
        assertThat(messageOf(event.replace("NUMBER", ok))).isNull();
        assertThat(Json.parse(bytes(event.replace("NUMBER", ok))).at("/eventBody/entities/0/updatedAttributes/n")
                .isNumber()).isTrue();
        assertThat(messageOf(event.replace("NUMBER", tooLong))).isEqualTo(Messages.NUMBER_TOO_LONG);
        // anywhere in the body, even in an unknown field; in a batch the whole body is rejected
        assertThat(messageOf("{\"unknown\":[" + tooLong + "]}")).isEqualTo(Messages.NUMBER_TOO_LONG);
        assertThat(messageOf("[" + event.replace("NUMBER", "1") + "," + tooLong + "]"))
                .isEqualTo(Messages.NUMBER_TOO_LONG);
    }

    @Test
    void numberLengthIsMeasuredOutsideStringsOnly() {
        String digits = "9".repeat(101);
        assertThat(JsonLimits.measure("[\"" + digits + "\"]", 64).numberTooLong()).isFalse();
        assertThat(JsonLimits.measure("[" + digits + "]", 64).numberTooLong()).isTrue();
        assertThat(JsonLimits.measure("[true,false,1e5]", 64)).isEqualTo(new JsonLimits.Shape(false, false));
        assertThat(messageOf("[\"" + "1".repeat(100_000) + "\"]")).isNull(); // a string, not a number
        assertThat(messageOf("[" + "1".repeat(100_000) + "]")).isEqualTo(Messages.NUMBER_TOO_LONG);
        // Malformed text with a long digit run is still malformed JSON.
        assertThat(messageOf("[" + "1".repeat(200) + "x]")).isEqualTo(Messages.MALFORMED_JSON);
        assertThat(messageOf("[01" + "1".repeat(200) + "]")).isEqualTo(Messages.MALFORMED_JSON);
    }
}
