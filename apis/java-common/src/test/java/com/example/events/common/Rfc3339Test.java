package com.example.events.common;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class Rfc3339Test {

    @ParameterizedTest
    @ValueSource(strings = {
        "2024-01-15T10:30:00Z",
        "2024-01-15T10:30:00.1Z",
        "2024-06-30T23:59:59.123456789+05:30",
        "2024-02-29T00:00:00Z",
        "2000-02-29T23:59:59.9Z",
        "1999-12-31T23:59:59-15:59",
        "0001-01-01T00:00:00Z",
        "2024-04-30T00:00:00+00:00",
    })
    void acceptsRealInstants(String value) {
        assertThat(Rfc3339.isValid(value)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "2024-13-01T00:00:00Z",
        "2024-00-10T00:00:00Z",
        "2024-01-00T00:00:00Z",
        "2024-02-30T10:00:00Z",
        "2023-02-29T10:00:00Z",
        "1900-02-29T10:00:00Z",
        "2024-04-31T10:00:00Z",
        "2024-01-15 10:30:00Z",
        "2024-01-15T10:30:00",
        "2024-01-15T24:00:00Z",
        "2024-01-15T10:60:00Z",
        "2024-01-15T10:30:60Z",
        "2024-01-15t10:30:00z",
        "2024-01-15T10:30:00.Z",
        "2024-01-15T10:30:00.1234567890Z",
        "2024-01-15T10:30:00+24:00",
        "2024-01-15T10:30:00+16:00",
        "0000-01-01T00:00:00Z",
        "2024-01-15T10:30:00+05:60",
        "2024-01-15T10:30:00+0530",
        "2024-01-15",
        "yesterday",
        "2024-01-15T10:30:00Z\n",
        "٢٠٢٤-01-15T10:30:00Z",
    })
    void rejectsEverythingElse(String value) {
        assertThat(Rfc3339.isValid(value)).isFalse();
    }
}
