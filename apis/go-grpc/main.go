// Command go-grpc is the Go gRPC API of the lab: grpc-go and pgx v5 over the shared internal packages,
// serving com.example.grpc.EventService and grpc.health.v1.Health. Settings come only from the
// environment contract (contract/CONTRACT.md).
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/perflab/apilab/internal/config"
	"github.com/perflab/apilab/internal/grpcapi"
	"github.com/perflab/apilab/internal/pb"
	"github.com/perflab/apilab/internal/store"
)

// shutdownGrace bounds how long in-flight calls may take to finish after SIGTERM.
const shutdownGrace = 30 * time.Second

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "go-grpc:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.Load(config.DefaultGRPCPort)
	if err != nil {
		return err
	}
	log := cfg.NewLogger()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	events, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer events.Close()

	listener, err := net.Listen("tcp", cfg.ListenAddress())
	if err != nil {
		return err
	}
	// A message over MAX_BODY_BYTES is refused by grpc-go itself with RESOURCE_EXHAUSTED.
	server := grpc.NewServer(grpc.MaxRecvMsgSize(int(cfg.MaxBodyBytes)))
	pb.RegisterEventServiceServer(server, grpcapi.NewEventService(events, log))
	healthpb.RegisterHealthServer(server, grpcapi.NewHealthService(events))

	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	log.Info("listening", "address", listener.Addr().String(), "dbPoolMax", cfg.DBPoolMax, "maxBodyBytes", cfg.MaxBodyBytes)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	// GracefulStop stops accepting and waits for in-flight calls; a call still running after the grace
	// period is cut off. The deferred Close then closes the pool.
	stopped := make(chan struct{})
	go func() { server.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(shutdownGrace):
		server.Stop()
	}
	return nil
}
