package com.example.events.common;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AttributeValuesTest {

    /** wire value | JSON stored for it (the contract's examples and the edges around them) */
    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "12 | 12",
        "true | true",
        "null | null",
        "`{\"a\":1}` | `{\"a\":1}`",
        "` [1, 2.50] ` | `[1,2.50]`",
        "`\"abc\"` | `\"abc\"`",
        "abc | `\"abc\"`",
        "`1 2` | `\"1 2\"`",
        "`` | `\"\"`",
        "`   ` | `\"   \"`",
        "NaN | `\"NaN\"`",
        "01 | `\"01\"`",
        "`{'a':1}` | `\"{'a':1}\"`",
        "`[1,]` | `\"[1,]\"`",
        "123456789012345678901234567890.10 | 123456789012345678901234567890.10",
        // exponents no BigDecimal holds: the exact text, for PostgreSQL to refuse
        "1e2147483648 | 1e2147483648",
        "` -9.99E-2147483649 ` | -9.99E-2147483649",
        "`{\"a\":[0.1e-99999999999]}` | `{\"a\":[0.1e-99999999999]}`",
        "1e2147483647 | 1E+2147483647",
    })
    void valueIsJsonWhenItIsOneWholeJsonTextElseAString(String wire, String stored) {
        assertThat(Json.write(AttributeValues.fromWireString(wire))).isEqualTo(stored);
    }

    @Test
    void jsonTextNestingDeeperThan59LevelsIsTooDeep() {
        String ok = "{\"a\":".repeat(59) + "1" + "}".repeat(59);
        assertThat(AttributeValues.check(ok).tooDeep()).isFalse();
        assertThat(Json.write(AttributeValues.check(ok).value())).isEqualTo(ok);
        String deep = "[".repeat(60) + "]".repeat(60);
        assertThat(AttributeValues.check(deep)).satisfies(v -> {
            assertThat(v.tooDeep()).isTrue();
            assertThat(v.containsNul()).isFalse();
        });
        assertThat(AttributeValues.check("[".repeat(100_000) + "]".repeat(100_000)).tooDeep()).isTrue();
        assertThat(AttributeValues.check("[".repeat(70) + "\"\\u0000\"" + "]".repeat(70)).containsNul()).isTrue();
        // not JSON text, however many brackets: a string
        String notJson = "[".repeat(100);
        assertThat(AttributeValues.check(notJson).tooDeep()).isFalse();
        assertThat(AttributeValues.check(notJson).value().textValue()).isEqualTo(notJson);
        assertThat(AttributeValues.check(deep + "x").value().textValue()).isEqualTo(deep + "x");
    }

    @Test
    void jsonTextWithANumberLongerThan100CharactersIsRejected() {
        String longest = "-" + "1".repeat(97) + ".5"; // 100 characters
        assertThat(AttributeValues.check(longest)).satisfies(v -> {
            assertThat(v.numberTooLong()).isFalse();
            assertThat(v.value().isNumber()).isTrue();
        });
        assertThat(AttributeValues.check("-" + "1".repeat(98) + ".5").numberTooLong()).isTrue();
        assertThat(AttributeValues.check("{\"a\":[" + "1".repeat(101) + "]}").numberTooLong()).isTrue();
        assertThat(AttributeValues.check("[\"\\u0000\"," + "1".repeat(101) + "]").containsNul()).isTrue();
        // too deep is the earlier rule
        String deepWithLongNumber = "[".repeat(60) + "1".repeat(101) + "]".repeat(60);
        assertThat(AttributeValues.check(deepWithLongNumber)).satisfies(v -> {
            assertThat(v.tooDeep()).isTrue();
            assertThat(v.numberTooLong()).isFalse();
        });
        // not JSON text: a string, whatever digits it has
        String words = "id " + "1".repeat(150);
        assertThat(AttributeValues.check(words).numberTooLong()).isFalse();
        assertThat(AttributeValues.check(words).value().textValue()).isEqualTo(words);
    }
}
