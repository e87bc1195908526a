package com.example.events.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JsonTest {

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** Exponents beyond 32 bits, which no BigDecimal holds: the exact text is kept for PostgreSQL to judge. */
    @ParameterizedTest
    @ValueSource(strings = {"1e2147483648", "0.1e-99999999999", "-1E+99999999999", "-9.99e-2147483649",
        "0e99999999999"})
    void aNumberNoBigDecimalHoldsIsKeptAsItsText(String number) {
        String body = "{\"a\":[" + number + ",2.50],\"b\":{\"c\":" + number + "}}";
        assertThat(Json.write(Json.parse(bytes(body)))).isEqualTo(body);
        assertThat(Json.write(Json.parse(bytes(" " + number + " ")))).isEqualTo(number);
    }

    /** Everything else is exactly the tree Jackson's own readTree builds (node types, scales, last key wins). */
    @ParameterizedTest
    @ValueSource(strings = {
        "{\"a\":24439.750,\"b\":1e2147483647,\"c\":-0.0,\"d\":1E-5,\"e\":0.10e+3}",
        "[1,-2147483649,9223372036854775808,-123456789012345678901234567890,0,-0]",
        "{\"a\":1,\"b\":[true,false,null,\"x\",{}],\"a\":\"last\"}",
        "\"text\"", "null", " 12.0 ", "[[[],{\"\":[{}]}]]",
    })
    void otherTextsGiveTheTreeOfJacksonsReadTree(String text) throws Exception {
        assertThat(Json.parse(bytes(text))).isEqualTo(Json.MAPPER.readTree(text));
        assertThat(Json.write(Json.parse(bytes(text)))).isEqualTo(Json.write(Json.MAPPER.readTree(text)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "   ", "{\"a\":1} x", "[1] [2]", "[1,2", "{\"a\":", "{\"a\" 1}", "1e", "[1e2147483648,]",
        "1e2147483648 1"})
    void anythingButOneWholeJsonTextIsMalformed(String text) {
        assertThatThrownBy(() -> Json.parse(bytes(text)))
                .isInstanceOf(ValidationException.class)
                .hasMessage(Messages.MALFORMED_JSON);
    }
}
