// Package grpcapi is the gRPC surface of the contract: com.example.grpc.EventService and the standard
// grpc.health.v1.Health service. The gRPC server (apis/go-grpc) and the gRPC-Web Lambda share it.
package grpcapi

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"

	"github.com/perflab/apilab/internal/auth"
	"github.com/perflab/apilab/internal/event"
	"github.com/perflab/apilab/internal/pb"
	"github.com/perflab/apilab/internal/store"
)

// ServiceName is the full name of EventService, also answered by the health service.
const ServiceName = "com.example.grpc.EventService"

const (
	msgUnavailable = "database unavailable"
	msgInternal    = "internal error"
	msgProcessed   = "event processed"
	msgDuplicate   = "duplicate event ignored"
	msgHealthy     = "healthy"
)

// ProcessEventMethod is the full name of the one call that needs a token when auth is on.
const ProcessEventMethod = "/" + ServiceName + "/ProcessEvent"

// Store is what the gRPC surface needs from the database; *store.Store implements it.
type Store interface {
	// SaveEvent writes one event in one transaction. It must run to its end whatever happens to ctx (a
	// cancelled call, an expired deadline), as *store.Store does: the contract's "Saturation".
	SaveEvent(ctx context.Context, ev *event.Event) (duplicate bool, err error)
	Ping(ctx context.Context) error
}

// EventService implements pb.EventServiceServer.
type EventService struct {
	pb.UnimplementedEventServiceServer
	store Store
	log   *slog.Logger
}

// NewEventService returns the EventService over store.
func NewEventService(store Store, log *slog.Logger) *EventService {
	return &EventService{store: store, log: log}
}

// ProcessEvent validates and writes one event. It never answers OK with success=false: a failure is a
// status (INVALID_ARGUMENT, UNAVAILABLE or INTERNAL); a value the database cannot store is INVALID_ARGUMENT.
func (s *EventService) ProcessEvent(ctx context.Context, req *pb.EventRequest) (*pb.EventResponse, error) {
	ev, err := event.FromProto(req)
	if err != nil {
		return nil, s.status(err)
	}
	duplicate, err := s.store.SaveEvent(ctx, ev)
	if err != nil {
		return nil, s.status(err)
	}
	resp := &pb.EventResponse{Success: true, Message: msgProcessed, EventUuid: ev.NormalizedUUID(),
		EntityCount: int32(len(ev.Entities)), Duplicate: duplicate}
	if duplicate {
		resp.Message = msgDuplicate
	}
	return resp, nil
}

// HealthCheck is the legacy health call of the original lab.
func (s *EventService) HealthCheck(ctx context.Context, _ *pb.HealthRequest) (*pb.HealthResponse, error) {
	if err := s.store.Ping(ctx); err != nil {
		s.log.Debug("health check failed", "error", err)
		return &pb.HealthResponse{Healthy: false, Message: msgUnavailable}, nil
	}
	return &pb.HealthResponse{Healthy: true, Message: msgHealthy}, nil
}

// status maps an error to its gRPC status; internals go to the log, never to the client.
func (s *EventService) status(err error) error {
	var invalid *event.ValidationError
	switch {
	case errors.As(err, &invalid):
		return status.Error(codes.InvalidArgument, invalid.Message)
	case errors.Is(err, store.ErrUnstorable):
		s.log.Debug("value rejected by the database", "error", err)
		return status.Error(codes.InvalidArgument, event.MsgUnstorable)
	case errors.Is(err, store.ErrUnavailable):
		s.log.Debug("database unavailable", "error", err)
		return status.Error(codes.Unavailable, msgUnavailable)
	default:
		s.log.Error("request failed", "error", err)
		return status.Error(codes.Internal, msgInternal)
	}
}

// AuthStatus is the answer to a call that fails authentication: UNAUTHENTICATED with the REST message;
// nil when tokens accepts authorization (the authorization metadata) or is nil (auth off).
func AuthStatus(tokens *auth.Verifier, authorization string) *status.Status {
	switch err := tokens.Check(authorization); {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrMissingToken):
		return status.New(codes.Unauthenticated, auth.MsgMissingToken)
	default:
		return status.New(codes.Unauthenticated, auth.MsgInvalidToken)
	}
}

// AuthTap refuses a ProcessEvent call without a valid token as soon as its headers arrive, before grpc-go
// reads the request message: nothing of it is read or decoded, and the token is checked before the
// MAX_BODY_BYTES limit, as for REST. Install it with grpc.InTapHandle when auth is on. Other calls (the
// health services, unknown methods) pass untouched. Checking an HMAC is a few microseconds, well within
// what a tap handle, which runs on the connection's goroutine, may do.
func AuthTap(tokens *auth.Verifier) tap.ServerInHandle {
	return func(ctx context.Context, info *tap.Info) (context.Context, error) {
		if info.FullMethodName != ProcessEventMethod {
			return ctx, nil
		}
		var authorization string
		if values := info.Header.Get("authorization"); len(values) > 0 {
			authorization = values[0]
		}
		if st := AuthStatus(tokens, authorization); st != nil {
			return ctx, st.Err()
		}
		return ctx, nil
	}
}

// HealthService implements grpc.health.v1.Health by asking the database on every Check, so it reports
// NOT_SERVING while the database does not answer (within store.HealthTimeout).
type HealthService struct {
	healthpb.UnimplementedHealthServer
	store Store
}

// NewHealthService returns the health service over store.
func NewHealthService(store Store) *HealthService {
	return &HealthService{store: store}
}

// Check answers for the whole server ("") and for EventService; other names are NOT_FOUND, as the
// health protocol specifies.
func (h *HealthService) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if name := req.GetService(); name != "" && name != ServiceName {
		return nil, status.Errorf(codes.NotFound, "unknown service %q", name)
	}
	if err := h.store.Ping(ctx); err != nil {
		return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING}, nil
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}
