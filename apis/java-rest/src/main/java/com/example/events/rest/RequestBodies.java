package com.example.events.rest;

import java.io.ByteArrayOutputStream;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.server.reactive.ServerHttpRequest;
import reactor.core.publisher.Mono;

/**
 * Reads a request body into memory, at most {@code maxBytes} of it.
 *
 * <p>An oversize body is still read to its end (and thrown away) up to {@link #DRAIN_LIMIT_BYTES}, so a
 * client that sends its whole body before reading the answer gets the 413 instead of a reset connection.
 */
final class RequestBodies {

    /** Beyond this much excess the connection is not worth keeping: answer at once. */
    static final long DRAIN_LIMIT_BYTES = 16L * 1024 * 1024;

    private RequestBodies() {
    }

    static Mono<byte[]> read(ServerHttpRequest request, int maxBytes) {
        long declared = request.getHeaders().getContentLength();
        if (declared > maxBytes + DRAIN_LIMIT_BYTES) {
            return Mono.error(new BodyTooLargeException());
        }
        return request.getBody()
                .reduce(new Collector(maxBytes), Collector::add)
                .defaultIfEmpty(new Collector(maxBytes))
                .flatMap(collector -> collector.total > maxBytes
                        ? Mono.error(new BodyTooLargeException())
                        : Mono.just(collector.bytes.toByteArray()));
    }

    static final class BodyTooLargeException extends RuntimeException {
        BodyTooLargeException() {
            super("request body too large", null, false, false);
        }
    }

    private static final class Collector {
        private final int maxBytes;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private long total;

        Collector(int maxBytes) {
            this.maxBytes = maxBytes;
        }

        Collector add(DataBuffer buffer) {
            try {
                int readable = buffer.readableByteCount();
                total += readable;
                if (total <= maxBytes) {
                    byte[] chunk = new byte[readable];
                    buffer.read(chunk);
                    bytes.write(chunk, 0, readable);
                } else if (total > maxBytes + DRAIN_LIMIT_BYTES) {
                    throw new BodyTooLargeException();
                }
                return this;
            } finally {
                DataBufferUtils.release(buffer);
            }
        }
    }
}
