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
import io.grpc.StatusRuntimeException;
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

    /**
     * Validates, then writes. Once validation passed the write runs to its end even when the call is
     * cancelled or its deadline expires (contract/CONTRACT.md, "Saturation"): the event is committed, or not
     * at all, exactly as if the client had waited, and only the answer is dropped.
     */
    @Override
    public void processEvent(EventRequest request, StreamObserver<EventResponse> responses) {
        ValidEvent event;
        try {
            event = ProtoEvents.validate(request);
        } catch (ValidationException invalid) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription(invalid.getMessage()).asRuntimeException());
            return;
        }
        if (responses instanceof ServerCallStreamObserver<?> call) {
            // Having a handler tells grpc-java the service deals with cancellation itself: the write goes on.
            call.setOnCancelHandler(() -> log.fine("call cancelled; its write runs to its end"));
        }
        repository.store(event).subscribe(
                result -> {
                    boolean duplicate = result == StoreResult.DUPLICATE;
                    answer(responses, () -> {
                        responses.onNext(EventResponse.newBuilder()
                                .setSuccess(true)
                                .setMessage(duplicate ? Messages.DUPLICATE_IGNORED : Messages.EVENT_PROCESSED)
                                .setEventUuid(event.uuidLowerCase())
                                .setEntityCount(event.entities().size())
                                .setDuplicate(duplicate)
                                .build());
                        responses.onCompleted();
                    });
                },
                failure -> answer(responses, () -> responses.onError(statusOf(failure).asRuntimeException())));
    }

    /** Answers unless the call is already gone (cancelled, deadline passed), whose answer nobody reads. */
    private static void answer(StreamObserver<?> responses, Runnable send) {
        if (responses instanceof ServerCallStreamObserver<?> call && call.isCancelled()) {
            return;
        }
        try {
            send.run();
        } catch (IllegalStateException | StatusRuntimeException cancelledMeanwhile) {
            log.log(Level.FINE, "answer dropped: the call ended", cancelledMeanwhile);
        }
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

    /** A cancelled health check (client gone, deadline passed) stops its query: it writes nothing. */
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
