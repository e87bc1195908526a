package client

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perflab/apilab/internal/pb"
	"github.com/perflab/apilab/tools/loadgen/internal/stats"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const testToken = "header.claims.signature"

func authClient(t *testing.T, protocol, raw, token string) Client {
	t.Helper()
	return newClientWith(t, protocol, raw, Options{Timeout: time.Second, Token: token})
}

// Every HTTP request of a connection carries the token; without one, no Authorization header at all.
func TestRESTSendsTheBearerTokenOnEveryRequest(t *testing.T) {
	var seen atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Values("Authorization"))
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error": "missing bearer token", "status": 401}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"success": true, "message": "event processed", "eventUuid": "x", "entityCount": 1, "duplicate": false}`))
	}))
	defer srv.Close()

	c := authClient(t, "rest", srv.URL, testToken)
	req := c.Prepare(stream(t))
	for i := 0; i < 3; i++ {
		check(t, "with token", c.Send(context.Background(), req), want{"200", true, stats.Acknowledged})
	}
	if got := seen.Load().([]string); len(got) != 1 || got[0] != "Bearer "+testToken {
		t.Fatalf("Authorization headers %q", got)
	}
	plain := authClient(t, "rest", srv.URL, "")
	check(t, "without token", plain.Send(context.Background(), plain.Prepare(stream(t))), want{"401", false, stats.Rejected})
	if got := seen.Load().([]string); len(got) != 0 {
		t.Fatalf("no token given, yet Authorization %q was sent", got)
	}
}

type authGRPC struct {
	pb.UnimplementedEventServiceServer
}

func (authGRPC) ProcessEvent(ctx context.Context, _ *pb.EventRequest) (*pb.EventResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer "+testToken {
		return nil, status.Error(codes.Unauthenticated, "missing bearer token")
	}
	return &pb.EventResponse{Success: true}, nil
}

func TestGRPCSendsTheBearerTokenAsMetadata(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pb.RegisterEventServiceServer(srv, authGRPC{})
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	c := authClient(t, "grpc", ln.Addr().String(), testToken)
	check(t, "with token", c.Send(context.Background(), c.Prepare(stream(t))), want{"OK", true, stats.Acknowledged})
	plain := authClient(t, "grpc", ln.Addr().String(), "")
	check(t, "without token", plain.Send(context.Background(), plain.Prepare(stream(t))),
		want{"UNAUTHENTICATED", false, stats.Rejected})
}
