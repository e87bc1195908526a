package com.example.events.common;

import static org.assertj.core.api.Assertions.assertThat;

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
    })
    void valueIsJsonWhenItIsOneWholeJsonTextElseAString(String wire, String stored) {
        assertThat(Json.write(AttributeValues.fromWireString(wire))).isEqualTo(stored);
    }
}
