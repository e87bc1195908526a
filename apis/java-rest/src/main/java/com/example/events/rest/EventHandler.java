package com.example.events.rest;

import com.example.events.common.AppConfig;
import com.example.events.common.DatabaseErrors;
import com.example.events.common.EventRepository;
import com.example.events.common.EventValidator;
import com.example.events.common.Json;
import com.example.events.common.Messages;
import com.example.events.common.StoreResult;
import com.example.events.common.Uninterruptible;
import com.example.events.common.ValidEvent;
import com.example.events.common.ValidationException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.InvalidMediaTypeException;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.channel.AbortedException;

/** The handlers of the REST surface: content type, size, validation, one repository call per event. */
@Component
class EventHandler {

    static final int MAX_BULK_EVENTS = 1000;
    private static final Logger log = LoggerFactory.getLogger(EventHandler.class);

    private final EventRepository repository;
    private final int maxBodyBytes;

    EventHandler(EventRepository repository, AppConfig config) {
        this.repository = repository;
        this.maxBodyBytes = config.maxBodyBytes();
    }

    Mono<ServerResponse> single(ServerRequest request) {
        if (!isJson(request)) {
            return error(HttpStatus.UNSUPPORTED_MEDIA_TYPE, Messages.UNSUPPORTED_CONTENT_TYPE);
        }
        return RequestBodies.read(request.exchange().getRequest(), maxBodyBytes)
                .flatMap(body -> {
                    ValidEvent event = EventValidator.validate(Json.parse(body));
                    return repository.store(event).flatMap(result -> json(HttpStatus.OK, eventResponse(event, result)));
                })
                .onErrorResume(this::errorResponse);
    }

    Mono<ServerResponse> bulk(ServerRequest request) {
        if (!isJson(request)) {
            return error(HttpStatus.UNSUPPORTED_MEDIA_TYPE, Messages.UNSUPPORTED_CONTENT_TYPE);
        }
        return RequestBodies.read(request.exchange().getRequest(), maxBodyBytes)
                .flatMap(body -> {
                    long started = System.nanoTime();
                    JsonNode items = Json.parse(body);
                    if (!items.isArray() || items.isEmpty() || items.size() > MAX_BULK_EVENTS) {
                        throw new ValidationException(Messages.BULK_NOT_ARRAY);
                    }
                    // The whole batch runs to its end even if the client goes away (contract, "Saturation").
                    return Uninterruptible.of(Flux.range(0, items.size())
                                    .concatMap(index -> processItem(index, items.get(index)))
                                    .collectList())
                            .flatMap(outcomes -> json(HttpStatus.OK, batchResponse(outcomes, started)));
                })
                .onErrorResume(this::errorResponse);
    }

    Mono<ServerResponse> health(ServerRequest request) {
        return repository.isHealthy().flatMap(healthy -> healthy
                ? json(HttpStatus.OK, Json.MAPPER.createObjectNode().put("status", Messages.HEALTHY))
                : error(HttpStatus.SERVICE_UNAVAILABLE, Messages.DATABASE_UNAVAILABLE));
    }

    Mono<ServerResponse> methodNotAllowed(String allowed) {
        return ServerResponse.status(HttpStatus.METHOD_NOT_ALLOWED)
                .header(HttpHeaders.ALLOW, allowed)
                .contentType(MediaType.APPLICATION_JSON)
                .bodyValue(errorBody(HttpStatus.METHOD_NOT_ALLOWED, Messages.METHOD_NOT_ALLOWED));
    }

    Mono<ServerResponse> notFound() {
        return error(HttpStatus.NOT_FOUND, Messages.NOT_FOUND);
    }

    /** One item of a batch: validated and written in its own transaction, exactly as a single event. */
    private Mono<ItemOutcome> processItem(int index, JsonNode item) {
        ValidEvent event;
        try {
            event = EventValidator.validate(item);
        } catch (ValidationException invalid) {
            return Mono.just(new ItemOutcome(index, null, invalid.getMessage()));
        }
        return repository.store(event)
                .map(result -> new ItemOutcome(index, result, null))
                // Rejected by the database as data and rolled back: this item failed like an invalid one.
                .onErrorResume(DatabaseErrors::isUnstorable,
                        unstorable -> Mono.just(new ItemOutcome(index, null, Messages.UNSTORABLE_VALUE)));
    }

    private record ItemOutcome(int index, StoreResult result, String error) {
    }

    private static ObjectNode eventResponse(ValidEvent event, StoreResult result) {
        boolean duplicate = result == StoreResult.DUPLICATE;
        return Json.MAPPER.createObjectNode()
                .put("success", true)
                .put("message", duplicate ? Messages.DUPLICATE_IGNORED : Messages.EVENT_PROCESSED)
                .put("eventUuid", event.uuidLowerCase())
                .put("entityCount", event.entities().size())
                .put("duplicate", duplicate);
    }

    private static ObjectNode batchResponse(List<ItemOutcome> outcomes, long startedNanos) {
        int processed = 0;
        int duplicates = 0;
        ArrayNode errors = Json.MAPPER.createArrayNode();
        for (ItemOutcome outcome : outcomes) {
            if (outcome.error() != null) {
                errors.addObject()
                        .put("index", outcome.index())
                        .put("error", outcome.error())
                        .put("status", HttpStatus.BAD_REQUEST.value());
            } else if (outcome.result() == StoreResult.DUPLICATE) {
                duplicates++;
            } else {
                processed++;
            }
        }
        long elapsedMs = (System.nanoTime() - startedNanos) / 1_000_000;
        ObjectNode response = Json.MAPPER.createObjectNode()
                .put("success", errors.isEmpty())
                .put("message", Messages.BATCH_PROCESSED)
                .put("batchId", UUID.randomUUID().toString())
                .put("processedCount", processed)
                .put("duplicateCount", duplicates)
                .put("failedCount", errors.size());
        response.set("errors", errors);
        response.put("processingTimeMs", elapsedMs);
        return response;
    }

    /** {@code application/json}, parameters such as charset allowed, case-insensitive. */
    private static boolean isJson(ServerRequest request) {
        String header = request.headers().firstHeader(HttpHeaders.CONTENT_TYPE);
        if (header == null) {
            return false;
        }
        try {
            MediaType type = MediaType.parseMediaType(header);
            return "application".equals(type.getType().toLowerCase(Locale.ROOT))
                    && "json".equals(type.getSubtype().toLowerCase(Locale.ROOT));
        } catch (InvalidMediaTypeException e) {
            return false;
        }
    }

    private Mono<ServerResponse> errorResponse(Throwable failure) {
        if (failure instanceof AbortedException) {
            // The client went away before its body arrived in full: nothing was written, nobody reads an answer.
            log.debug("client closed the connection during the request", failure);
            return Mono.empty();
        }
        if (failure instanceof ValidationException invalid) {
            return error(HttpStatus.BAD_REQUEST, invalid.getMessage());
        }
        if (failure instanceof RequestBodies.BodyTooLargeException) {
            return error(HttpStatus.PAYLOAD_TOO_LARGE, Messages.bodyTooLarge(maxBodyBytes));
        }
        if (DatabaseErrors.isUnstorable(failure)) {
            log.debug("value rejected by the database", failure);
            return error(HttpStatus.BAD_REQUEST, Messages.UNSTORABLE_VALUE);
        }
        if (DatabaseErrors.isUnavailable(failure)) {
            log.debug("database unavailable", failure);
            return error(HttpStatus.SERVICE_UNAVAILABLE, Messages.DATABASE_UNAVAILABLE);
        }
        log.error("request failed", failure);
        return error(HttpStatus.INTERNAL_SERVER_ERROR, Messages.INTERNAL_ERROR);
    }

    static byte[] errorBody(HttpStatus status, String message) {
        return Json.writeBytes(Json.MAPPER.createObjectNode().put("error", message).put("status", status.value()));
    }

    private static Mono<ServerResponse> error(HttpStatus status, String message) {
        return ServerResponse.status(status).contentType(MediaType.APPLICATION_JSON).bodyValue(errorBody(status, message));
    }

    private static Mono<ServerResponse> json(HttpStatus status, ObjectNode body) {
        return ServerResponse.status(status).contentType(MediaType.APPLICATION_JSON).bodyValue(Json.writeBytes(body));
    }
}
