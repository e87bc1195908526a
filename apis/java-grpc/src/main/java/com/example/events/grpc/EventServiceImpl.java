package com.example.events.grpc;

import com.example.events.common.DatabaseErrors;
import com.example.events.common.EventRepository;
import com.example.events.common.Messages;
import com.example.events.common.StoreResult;
import com.example.events.common.ValidEvent;
import com.example.events.common.ValidationException;
import com.example.grpc.EventRequest;
import com.example.grpc.EventResponse;
import com.example.grpc.EventServiceGrpc;
import com.example.grpc.HealthRequest;
import com.example.grpc.HealthResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.logging.Level;
import java.util.logging.Logger;
import reactor.core.Disposable;

/** {@code com.example.grpc.EventService}: the REST semantics with gRPC status codes; never OK with success=false. */
final class EventServiceImpl extends EventServiceGrpc.EventServiceImplBase {

    private static final Logger log = Logger.getLogger(EventServiceImpl.class.getName());

    private final EventRepository repository;

    EventServiceImpl(EventRepository repository) {
        this.repository = repository;
    }

    @Override
    public void processEvent(EventRequest request, StreamObserver<EventResponse> responses) {
        ValidEvent event;
        try {
            event = ProtoEvents.validate(request);
        } catch (ValidationException invalid) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription(invalid.getMessage()).asRuntimeException());
            return;
        }
        Disposable write = repository.store(event).subscribe(
                result -> {
                    boolean duplicate = result == StoreResult.DUPLICATE;
                    responses.onNext(EventResponse.newBuilder()
                            .setSuccess(true)
                            .setMessage(duplicate ? Messages.DUPLICATE_IGNORED : Messages.EVENT_PROCESSED)
                            .setEventUuid(event.uuidLowerCase())
                            .setEntityCount(event.entities().size())
                            .setDuplicate(duplicate)
                            .build());
                    responses.onCompleted();
                },
                failure -> responses.onError(statusOf(failure).asRuntimeException()));
        cancelWithCall(responses, write);
    }

    @Override
    public void healthCheck(HealthRequest request, StreamObserver<HealthResponse> responses) {
        Disposable check = repository.isHealthy().subscribe(healthy -> {
            responses.onNext(HealthResponse.newBuilder()
                    .setHealthy(healthy)
                    .setMessage(healthy ? Messages.HEALTHY : Messages.DATABASE_UNAVAILABLE)
                    .build());
            responses.onCompleted();
        });
        cancelWithCall(responses, check);
    }

    /** A cancelled call (client gone, deadline passed) cancels its database work, which rolls back. */
    static void cancelWithCall(StreamObserver<?> responses, Disposable work) {
        if (responses instanceof ServerCallStreamObserver<?> call) {
            call.setOnCancelHandler(work::dispose);
        }
    }

    private static Status statusOf(Throwable failure) {
        if (DatabaseErrors.isUnstorable(failure)) {
            log.log(Level.FINE, "value rejected by the database", failure);
            return Status.INVALID_ARGUMENT.withDescription(Messages.UNSTORABLE_VALUE);
        }
        if (DatabaseErrors.isUnavailable(failure)) {
            log.log(Level.FINE, "database unavailable", failure);
            return Status.UNAVAILABLE.withDescription(Messages.DATABASE_UNAVAILABLE);
        }
        log.log(Level.SEVERE, "request failed", failure);
        return Status.INTERNAL.withDescription(Messages.INTERNAL_ERROR);
    }
}
