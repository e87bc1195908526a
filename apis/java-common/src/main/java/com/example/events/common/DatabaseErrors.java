package com.example.events.common;

import com.fasterxml.jackson.core.JacksonException;
import io.r2dbc.spi.R2dbcException;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import io.r2dbc.spi.R2dbcTimeoutException;
import io.r2dbc.spi.R2dbcTransientResourceException;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.TimeoutException;

/**
 * Sorts a failure of the data path into "a value the database cannot store" (400 / INVALID_ARGUMENT),
 * "database unavailable" (503 / UNAVAILABLE) or "internal" (500 / INTERNAL).
 */
public final class DatabaseErrors {

    private DatabaseErrors() {
    }

    /**
     * Unavailable means the database could not be reached or did not answer: connect, pool, timeout or a
     * lost connection, and the server-side states of the same kind (SQLSTATE classes 08 connection
     * exception, 53 insufficient resources, 57 operator intervention such as a shutdown). Network I/O
     * errors count; JSON errors, though Jackson's are IOExceptions too, do not.
     */
    public static boolean isUnavailable(Throwable error) {
        if (isUnstorable(error)) {
            return false; // r2dbc-postgresql reports class 22 as a "non-transient resource" failure
        }
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof R2dbcNonTransientResourceException
                    || t instanceof R2dbcTransientResourceException
                    || t instanceof R2dbcTimeoutException
                    || t instanceof TimeoutException
                    || t instanceof ClosedChannelException
                    || (t instanceof IOException && !(t instanceof JacksonException))) {
                return true;
            }
            if (t instanceof R2dbcException r2dbc && isUnavailableState(r2dbc.getSqlState())) {
                return true;
            }
            if (t.getClass().getName().startsWith("reactor.pool.")) {
                // reactor-pool's own failures: acquire timeout, pool shut down, too many pending acquires
                return true;
            }
        }
        return false;
    }

    /**
     * The database rejected a value of a valid event as data: SQLSTATE class 22 (data exception, e.g. a
     * number beyond numeric's range) or 54 (program limit exceeded). The client's input, not a failure:
     * 400 / INVALID_ARGUMENT "event contains a value the database cannot store".
     */
    public static boolean isUnstorable(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof R2dbcException r2dbc && r2dbc.getSqlState() != null
                    && (r2dbc.getSqlState().startsWith("22") || r2dbc.getSqlState().startsWith("54"))) {
                return true;
            }
        }
        return false;
    }

    private static boolean isUnavailableState(String sqlState) {
        return sqlState != null
                && (sqlState.startsWith("08") || sqlState.startsWith("53") || sqlState.startsWith("57"));
    }
}
