package com.example.events.grpc;

import com.example.events.common.EventRepository;
import com.example.grpc.EventServiceGrpc;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import reactor.core.Disposable;

/**
 * The standard {@code grpc.health.v1.Health}: SERVING for {@code ""} and the event service while the
 * database answers {@code SELECT 1} within 2 s, NOT_SERVING while it does not; checked on every call.
 * {@code Watch} is not offered (UNIMPLEMENTED), which the health protocol allows.
 */
final class DatabaseHealthService extends HealthGrpc.HealthImplBase {

    static final String EVENT_SERVICE = EventServiceGrpc.SERVICE_NAME;

    private final EventRepository repository;

    DatabaseHealthService(EventRepository repository) {
        this.repository = repository;
    }

    @Override
    public void check(HealthCheckRequest request, StreamObserver<HealthCheckResponse> responses) {
        String service = request.getService();
        if (!service.isEmpty() && !EVENT_SERVICE.equals(service)) {
            responses.onError(Status.NOT_FOUND.withDescription("unknown service").asRuntimeException());
            return;
        }
        Disposable check = repository.isHealthy().subscribe(healthy -> {
            responses.onNext(HealthCheckResponse.newBuilder()
                    .setStatus(healthy ? ServingStatus.SERVING : ServingStatus.NOT_SERVING)
                    .build());
            responses.onCompleted();
        });
        EventServiceImpl.cancelWithCall(responses, check);
    }
}
