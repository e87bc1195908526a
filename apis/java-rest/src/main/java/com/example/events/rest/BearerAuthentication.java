package com.example.events.rest;

import com.example.events.common.JwtAuthenticator;
import com.example.events.common.JwtAuthenticator.Failure;
import java.util.Optional;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.HandlerFilterFunction;
import org.springframework.web.reactive.function.server.HandlerFunction;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;

/**
 * The token check of the two event routes (contract/CONTRACT.md, "Authentication"), as a filter of those
 * routes only: health, unknown paths and wrong methods stay as without auth. It runs before the handler, so
 * before the content type, the size and the body: a refused request's body is never read.
 */
final class BearerAuthentication implements HandlerFilterFunction<ServerResponse, ServerResponse> {

    /** What the event routes get when {@code AUTH_ENABLED} is off. */
    static final HandlerFilterFunction<ServerResponse, ServerResponse> NONE = (request, next) -> next.handle(request);

    private final JwtAuthenticator authenticator;

    BearerAuthentication(JwtAuthenticator authenticator) {
        this.authenticator = authenticator;
    }

    @Override
    public Mono<ServerResponse> filter(ServerRequest request, HandlerFunction<ServerResponse> next) {
        Optional<Failure> failure = authenticator.authenticate(request.headers().firstHeader(HttpHeaders.AUTHORIZATION));
        if (failure.isEmpty()) {
            return next.handle(request);
        }
        return ServerResponse.status(HttpStatus.UNAUTHORIZED)
                .header(HttpHeaders.WWW_AUTHENTICATE, "Bearer")
                .contentType(MediaType.APPLICATION_JSON)
                .bodyValue(EventHandler.errorBody(HttpStatus.UNAUTHORIZED, failure.get().message()));
    }
}
