package com.example.events.rest;

import com.example.events.common.Messages;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebExceptionHandler;
import reactor.core.publisher.Mono;

/**
 * Replaces Spring's default error bodies: whatever escapes a handler is answered with the contract's
 * JSON error, never with internals or a stack trace. Ordered before Spring Boot's own handler (-1).
 */
@Component
@Order(-2)
class JsonErrorHandler implements WebExceptionHandler {

    private static final Logger log = LoggerFactory.getLogger(JsonErrorHandler.class);

    @Override
    public Mono<Void> handle(ServerWebExchange exchange, Throwable failure) {
        ServerHttpResponse response = exchange.getResponse();
        if (response.isCommitted()) {
            return Mono.error(failure);
        }
        HttpStatus status = HttpStatus.INTERNAL_SERVER_ERROR;
        String message = Messages.INTERNAL_ERROR;
        if (failure instanceof ResponseStatusException statusFailure) {
            HttpStatus resolved = HttpStatus.resolve(statusFailure.getStatusCode().value());
            if (resolved == HttpStatus.NOT_FOUND) {
                status = resolved;
                message = Messages.NOT_FOUND;
            } else if (resolved == HttpStatus.METHOD_NOT_ALLOWED) {
                status = resolved;
                message = Messages.METHOD_NOT_ALLOWED;
            } else if (resolved == HttpStatus.UNSUPPORTED_MEDIA_TYPE) {
                status = resolved;
                message = Messages.UNSUPPORTED_CONTENT_TYPE;
            } else if (resolved == HttpStatus.BAD_REQUEST) {
                status = resolved;
                message = Messages.MALFORMED_JSON;
            }
        }
        if (status == HttpStatus.INTERNAL_SERVER_ERROR) {
            log.error("unhandled failure", failure);
        }
        response.setStatusCode(status);
        response.getHeaders().setContentType(MediaType.APPLICATION_JSON);
        byte[] body = EventHandler.errorBody(status, message);
        return response.writeWith(Mono.just(response.bufferFactory().wrap(body)));
    }
}
