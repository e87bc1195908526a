// Command go-rest is the Go REST API of the lab: Gin and pgx v5 over the shared internal packages.
// Settings come only from the environment contract (contract/CONTRACT.md).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/perflab/apilab/internal/config"
	"github.com/perflab/apilab/internal/httpapi"
	"github.com/perflab/apilab/internal/store"
)

// shutdownGrace bounds how long in-flight requests may take to finish after SIGTERM.
const shutdownGrace = 30 * time.Second

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "go-rest:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.Load(config.DefaultRESTPort)
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
	server := &http.Server{
		Handler:           newRouter(httpapi.New(events, cfg.MaxBodyBytes, log), log),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	log.Info("listening", "address", listener.Addr().String(), "dbPoolMax", cfg.DBPoolMax, "maxBodyBytes", cfg.MaxBodyBytes)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	// Shutdown stops accepting and waits for in-flight requests; the deferred Close then closes the pool.
	if err := server.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
