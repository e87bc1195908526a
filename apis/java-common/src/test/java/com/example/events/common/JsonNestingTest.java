package com.example.events.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JsonNestingTest {

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
        assertThat(JsonNesting.nestsDeeper(bytes(text), limit)).isEqualTo(deeper);
        assertThat(JsonNesting.nestsDeeper(text, limit)).isEqualTo(deeper);
    }

    @Test
    void sixtyFourLevelsAreTheLimit() {
        assertThat(JsonNesting.nestsDeeper(bytes(arrays(64)), 64)).isFalse();
        assertThat(JsonNesting.nestsDeeper(bytes(arrays(65)), 64)).isTrue();
    }

    @Test
    void scanChecksTheWholeTextAtAnyDepth() {
        String deep = "{\"a\":[".repeat(100_000) + "\"x\"" + "]}".repeat(100_000);
        assertThat(JsonNesting.scan(deep)).isEqualTo(new JsonNesting.Scan(true, false));
        assertThat(JsonNesting.scan(bytes(deep))).isEqualTo(new JsonNesting.Scan(true, false));
        assertThat(JsonNesting.scan(deep + "]").valid()).isFalse();
        assertThat(JsonNesting.scan(deep + " x").valid()).isFalse();
        assertThat(JsonNesting.scan("[".repeat(100_000)).valid()).isFalse();
        assertThat(JsonNesting.scan("").valid()).isFalse();
        assertThat(JsonNesting.scan("[01]").valid()).isFalse();
        assertThat(JsonNesting.scan("[" + "9".repeat(5000) + "]").valid()).isTrue(); // no number length limit
        assertThat(JsonNesting.scan("[\"\\u0000\"]")).isEqualTo(new JsonNesting.Scan(true, true));
        assertThat(JsonNesting.scan("{\"\\u0000\":1}")).isEqualTo(new JsonNesting.Scan(true, true));
        assertThat(JsonNesting.scan("[\"\\\\u0000\"]")).isEqualTo(new JsonNesting.Scan(true, false));
        byte[] badUtf8 = {'[', '"', (byte) 0xff, '"', ']'};
        assertThat(JsonNesting.scan(badUtf8).valid()).isFalse();
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
}
