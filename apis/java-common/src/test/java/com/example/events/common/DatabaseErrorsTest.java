package com.example.events.common;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonParseException;
import io.r2dbc.spi.R2dbcBadGrammarException;
import io.r2dbc.spi.R2dbcDataIntegrityViolationException;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import io.r2dbc.spi.R2dbcPermissionDeniedException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class DatabaseErrorsTest {

    @Test
    void connectionAndServerAvailabilityFailuresAreUnavailable() {
        assertThat(DatabaseErrors.isUnavailable(new R2dbcNonTransientResourceException("connection closed"))).isTrue();
        assertThat(DatabaseErrors.isUnavailable(new RuntimeException(new ConnectException("refused")))).isTrue();
        assertThat(DatabaseErrors.isUnavailable(new TimeoutException("acquire"))).isTrue();
        assertThat(DatabaseErrors.isUnavailable(new R2dbcPermissionDeniedException("shutdown", "57P01"))).isTrue();
        assertThat(DatabaseErrors.isUnavailable(new R2dbcPermissionDeniedException("too many", "53300"))).isTrue();
    }

    @Test
    void everythingElseIsInternal() {
        assertThat(DatabaseErrors.isUnavailable(new R2dbcBadGrammarException("syntax", "42601"))).isFalse();
        assertThat(DatabaseErrors.isUnavailable(new R2dbcDataIntegrityViolationException("range", "22008"))).isFalse();
        assertThat(DatabaseErrors.isUnstorable(new R2dbcDataIntegrityViolationException("unique", "23505"))).isFalse();
        assertThat(DatabaseErrors.isUnstorable(new R2dbcNonTransientResourceException("connection closed"))).isFalse();
        assertThat(DatabaseErrors.isUnavailable(new UncheckedIOException(new JsonParseException(null, "bad")))).isFalse();
        assertThat(DatabaseErrors.isUnavailable(new IllegalStateException("bug"))).isFalse();
    }

    @Test
    void dataExceptionsAndProgramLimitsAreUnstorableNeverUnavailable() {
        // r2dbc-postgresql reports class 22 as a non-transient resource exception
        var overflow = new R2dbcNonTransientResourceException("numeric field overflow", "22003");
        assertThat(DatabaseErrors.isUnstorable(overflow)).isTrue();
        assertThat(DatabaseErrors.isUnavailable(overflow)).isFalse();
        assertThat(DatabaseErrors.isUnstorable(new RuntimeException(overflow))).isTrue();
        assertThat(DatabaseErrors.isUnstorable(new R2dbcBadGrammarException("too large", "54000"))).isTrue();
        assertThat(DatabaseErrors.isUnstorable(new R2dbcDataIntegrityViolationException("range", "22008"))).isTrue();
    }
}
