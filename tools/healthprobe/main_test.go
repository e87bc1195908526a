package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func TestHTTPProbeSucceedsOnlyOn200(t *testing.T) {
	status := http.StatusOK
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	defer server.Close()
	if err := run([]string{"http", server.URL}); err != nil {
		t.Fatalf("200: %v", err)
	}
	status = http.StatusServiceUnavailable
	if err := run([]string{"http", server.URL}); err == nil {
		t.Fatal("503 counted as healthy")
	}
}

func TestGRPCProbeSucceedsOnlyWhenServing(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := grpc.NewServer()
	checker := health.NewServer()
	healthpb.RegisterHealthServer(server, checker)
	go server.Serve(listener)
	defer server.Stop()
	target := listener.Addr().String()

	checker.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	if err := run([]string{"grpc", target}); err != nil {
		t.Fatalf("serving: %v", err)
	}
	checker.SetServingStatus("svc", healthpb.HealthCheckResponse_NOT_SERVING)
	if err := run([]string{"grpc", target, "svc"}); err == nil {
		t.Fatal("NOT_SERVING counted as healthy")
	}
	if err := probeGRPC(context.Background(), "127.0.0.1:1", ""); err == nil {
		t.Fatal("closed port counted as healthy")
	}
}

func TestBadArgumentsAreRefused(t *testing.T) {
	for _, args := range [][]string{nil, {"http"}, {"tcp", "x"}, {"http", "a", "b"}, {"grpc", "a", "b", "c"}} {
		if err := run(args); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
