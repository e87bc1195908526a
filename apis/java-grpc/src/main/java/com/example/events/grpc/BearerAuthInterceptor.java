package com.example.events.grpc;

import com.example.events.common.JwtAuthenticator;
import com.example.events.common.JwtAuthenticator.Failure;
import com.example.grpc.EventServiceGrpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Optional;

/**
 * The token check of {@code ProcessEvent} (contract/CONTRACT.md, "Authentication"): metadata
 * {@code authorization: Bearer <token>}, else UNAUTHENTICATED with the REST message. It runs when the call
 * starts, on its headers, before any message is read; {@code HealthCheck} and {@code grpc.health.v1.Health}
 * stay open.
 */
final class BearerAuthInterceptor implements ServerInterceptor {

    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final String PROCESS_EVENT = EventServiceGrpc.getProcessEventMethod().getFullMethodName();

    private final JwtAuthenticator authenticator;

    BearerAuthInterceptor(JwtAuthenticator authenticator) {
        this.authenticator = authenticator;
    }

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
            ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
        if (!PROCESS_EVENT.equals(call.getMethodDescriptor().getFullMethodName())) {
            return next.startCall(call, headers);
        }
        Optional<Failure> failure = authenticator.authenticate(headers.get(AUTHORIZATION));
        if (failure.isEmpty()) {
            return next.startCall(call, headers);
        }
        call.close(Status.UNAUTHENTICATED.withDescription(failure.get().message()), new Metadata());
        return new ServerCall.Listener<>() {
        };
    }
}
