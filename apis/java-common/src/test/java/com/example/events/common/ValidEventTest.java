package com.example.events.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ValidEventTest {

    static ValidEvent validate(String body) {
        return EventValidator.validate(Json.parse(body.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void canonicalDocumentKeepsKnownFieldsInRequestOrderAndNumbersDigitForDigit() {
        ValidEvent event = validate("{\"junk\":1,\"eventHeader\":{\"uuid\":\"550E8400-E29B-41D4-A716-446655440000\","
                + "\"eventName\":\"N\",\"eventType\":\"T\",\"createdDate\":\"2024-01-15T10:30:00.500+01:00\","
                + "\"savedDate\":\"\",\"x\":true},\"eventBody\":{\"entities\":["
                + "{\"entityType\":\"Loan\",\"entityId\":\"b\",\"updatedAttributes\":{\"balance\":24439.750,"
                + "\"big\":123456789012345678901234567890,\"tiny\":1.5e-7,\"huge\":1e400,\"n\":null,"
                + "\"nested\":{\"a\":[1,2.50,{\"b\":\"ü\"}]}},\"extra\":1},"
                + "{\"entityType\":\"Car\",\"entityId\":\"a\",\"updatedAttributes\":{}}]}}");

        assertThat(event.canonicalJson()).isEqualTo("{\"eventHeader\":{\"uuid\":\"550E8400-E29B-41D4-A716-446655440000\","
                + "\"eventName\":\"N\",\"eventType\":\"T\",\"createdDate\":\"2024-01-15T10:30:00.500+01:00\"},"
                + "\"eventBody\":{\"entities\":["
                + "{\"entityType\":\"Loan\",\"entityId\":\"b\",\"updatedAttributes\":{\"balance\":24439.750,"
                + "\"big\":123456789012345678901234567890,\"tiny\":1.5E-7,\"huge\":1E+400,\"n\":null,"
                + "\"nested\":{\"a\":[1,2.50,{\"b\":\"ü\"}]}}},"
                + "{\"entityType\":\"Car\",\"entityId\":\"a\",\"updatedAttributes\":{}}]}}");
        assertThat(event.uuidLowerCase()).isEqualTo("550e8400-e29b-41d4-a716-446655440000");
    }

    @Test
    void lockOrderSortsByTypeThenIdAndKeepsRequestOrderForEqualKeys() {
        ValidEvent event = validate("{\"eventHeader\":{\"uuid\":\"550e8400-e29b-41d4-a716-446655440000\","
                + "\"eventName\":\"N\",\"eventType\":\"T\"},\"eventBody\":{\"entities\":["
                + entity("Loan", "2", "first") + "," + entity("Car", "9", "x") + "," + entity("Loan", "10", "y") + ","
                + entity("Loan", "2", "second") + "," + entity("Car", "10", "z") + "]}}");

        List<String> order = event.entitiesInLockOrder().stream()
                .map(e -> e.entityType() + "/" + e.entityId() + "/" + e.attributes().get("v").textValue())
                .toList();
        assertThat(order).containsExactly("Car/10/z", "Car/9/x", "Loan/10/y", "Loan/2/first", "Loan/2/second");
        // the stored document keeps request order
        assertThat(event.entities().get(0).entityId()).isEqualTo("2");
    }

    private static String entity(String type, String id, String value) {
        return "{\"entityType\":\"" + type + "\",\"entityId\":\"" + id + "\",\"updatedAttributes\":{\"v\":\"" + value + "\"}}";
    }
}
