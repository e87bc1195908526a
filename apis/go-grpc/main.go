// Command go-grpc is the Go gRPC API of the lab: grpc-go and pgx v5 over the shared internal packages,
// serving com.example.grpc.EventService and grpc.health.v1.Health. Settings come only from the
// environment contract (contract/CONTRACT.md).
package main

import (
	"context"
	"fmt"
	"os"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/perflab/apilab/internal/config"
	"github.com/perflab/apilab/internal/grpcapi"
	"github.com/perflab/apilab/internal/lifecycle"
	"github.com/perflab/apilab/internal/pb"
)

func main() {
	if err := lifecycle.Run(config.DefaultGRPCPort, newServer); err != nil {
		fmt.Fprintln(os.Stderr, "go-grpc:", err)
		os.Exit(1)
	}
}

func newServer(s lifecycle.Services) lifecycle.Server {
	// A message over MAX_BODY_BYTES is refused by grpc-go itself with RESOURCE_EXHAUSTED.
	options := []grpc.ServerOption{grpc.MaxRecvMsgSize(int(s.Config.MaxBodyBytes))}
	if s.Tokens != nil {
		// The token is checked when the call's headers arrive, before its message is read.
		options = append(options, grpc.InTapHandle(grpcapi.AuthTap(s.Tokens)))
	}
	server := grpc.NewServer(options...)
	pb.RegisterEventServiceServer(server, grpcapi.NewEventService(s.Events, s.Log))
	healthpb.RegisterHealthServer(server, grpcapi.NewHealthService(s.Events))
	return grpcServer{server}
}

// grpcServer gives a grpc.Server the Shutdown of lifecycle.Server.
type grpcServer struct{ *grpc.Server }

// Shutdown stops accepting and waits for in-flight calls (GracefulStop); a call still running when ctx
// is done is cut off (Stop). It never fails.
func (s grpcServer) Shutdown(ctx context.Context) error {
	stopped := make(chan struct{})
	go func() { s.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-ctx.Done():
		s.Stop()
	}
	return nil
}
