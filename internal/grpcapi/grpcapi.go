// Package grpcapi is the gRPC surface of the contract: com.example.grpc.EventService and the standard
// grpc.health.v1.Health service. The gRPC server (apis/go-grpc) and the gRPC-Web Lambda share it.
package grpcapi

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

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

// writeTimeout bounds one event's transaction, waiting for a pooled connection included. The write is
// detached from the caller's cancellation so that a client that gives up does not abort it half-way.
const writeTimeout = 30 * time.Second

// Store is what the gRPC surface needs from the database; *store.Store implements it.
type Store interface {
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
	writeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	duplicate, err := s.store.SaveEvent(writeCtx, ev)
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
