package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/perflab/apilab/internal/auth"
	"github.com/perflab/apilab/internal/auth/authtest"
	"github.com/perflab/apilab/internal/event"
	"github.com/perflab/apilab/internal/pb"
	"github.com/perflab/apilab/internal/store"
)

type fakeStore struct {
	saveErr   error
	pingErr   error
	duplicate bool
	saved     []*event.Event
}

func (f *fakeStore) SaveEvent(_ context.Context, ev *event.Event) (bool, error) {
	if f.saveErr != nil {
		return false, f.saveErr
	}
	f.saved = append(f.saved, ev)
	return f.duplicate, nil
}

func (f *fakeStore) Ping(context.Context) error { return f.pingErr }

// dial serves the two services over an in-memory listener, as apis/go-grpc registers them.
func dial(t *testing.T, fake *fakeStore, maxMessage int) *grpc.ClientConn {
	return dialWithAuth(t, fake, maxMessage, nil)
}

// dialWithAuth is dial with auth on when tokens is not nil, as apis/go-grpc sets it up.
func dialWithAuth(t *testing.T, fake *fakeStore, maxMessage int, tokens *auth.Verifier) *grpc.ClientConn {
	t.Helper()
	listener := bufconn.Listen(1 << 20)
	options := []grpc.ServerOption{grpc.MaxRecvMsgSize(maxMessage)}
	if tokens != nil {
		options = append(options, grpc.InTapHandle(AuthTap(tokens)))
	}
	server := grpc.NewServer(options...)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pb.RegisterEventServiceServer(server, NewEventService(fake, log))
	healthpb.RegisterHealthServer(server, NewHealthService(fake))
	go server.Serve(listener)
	t.Cleanup(server.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return listener.Dial() }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func request() *pb.EventRequest {
	return &pb.EventRequest{
		EventHeader: &pb.EventHeader{Uuid: "550E8400-e29b-41d4-a716-446655440000", EventName: "CarCreated", EventType: "CarCreated"},
		EventBody: &pb.EventBody{Entities: []*pb.EntityUpdate{
			{EntityType: "Car", EntityId: "c1", UpdatedAttributes: map[string]string{"year": "2021"}},
			{EntityType: "Car", EntityId: "c2"},
		}},
	}
}

func TestProcessEventSuccessAndDuplicate(t *testing.T) {
	for _, duplicate := range []bool{false, true} {
		fake := &fakeStore{duplicate: duplicate}
		resp, err := pb.NewEventServiceClient(dial(t, fake, 1<<20)).ProcessEvent(context.Background(), request())
		if err != nil {
			t.Fatal(err)
		}
		message := map[bool]string{false: "event processed", true: "duplicate event ignored"}[duplicate]
		if !resp.Success || resp.Message != message || resp.EventUuid != "550e8400-e29b-41d4-a716-446655440000" ||
			resp.EntityCount != 2 || resp.Duplicate != duplicate {
			t.Fatalf("got %v", resp)
		}
		if got := string(fake.saved[0].Entities[0].Attributes); got != `{"year":2021}` {
			t.Fatalf("attributes %s", got)
		}
	}
}

func TestProcessEventFailuresAreStatusesNeverSuccessFalse(t *testing.T) {
	invalid := request()
	invalid.EventBody = nil
	deep := request()
	deep.EventBody.Entities[0].UpdatedAttributes["deep"] = strings.Repeat("[", 60) + strings.Repeat("]", 60)
	longNumber := request()
	longNumber.EventBody.Entities[0].UpdatedAttributes["n"] = strings.Repeat("1", 101)
	cases := []struct {
		name    string
		fake    *fakeStore
		req     *pb.EventRequest
		code    codes.Code
		message string
	}{
		{"validation", &fakeStore{}, invalid, codes.InvalidArgument, "eventBody must be an object"},
		{"empty request", &fakeStore{}, &pb.EventRequest{}, codes.InvalidArgument, "eventHeader must be an object"},
		{"too deep", &fakeStore{}, deep, codes.InvalidArgument, "event nests deeper than 64 levels"},
		{"long number", &fakeStore{}, longNumber, codes.InvalidArgument, "event contains a number longer than 100 characters"},
		{"value the database cannot store", &fakeStore{saveErr: fmt.Errorf("%w: numeric out of range", store.ErrUnstorable)}, request(), codes.InvalidArgument, "event contains a value the database cannot store"},
		{"database down", &fakeStore{saveErr: store.ErrUnavailable}, request(), codes.Unavailable, "database unavailable"},
		{"other failure", &fakeStore{saveErr: errors.New("secret internals")}, request(), codes.Internal, "internal error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := pb.NewEventServiceClient(dial(t, c.fake, 1<<20)).ProcessEvent(context.Background(), c.req)
			if st := status.Convert(err); st.Code() != c.code || st.Message() != c.message || resp != nil {
				t.Fatalf("got %v, %v; want %v %q", resp, err, c.code, c.message)
			}
		})
	}
}

func TestMessagesOverTheLimitAreResourceExhausted(t *testing.T) {
	req := request()
	req.EventBody.Entities[0].UpdatedAttributes["big"] = strings.Repeat("x", 2000)
	_, err := pb.NewEventServiceClient(dial(t, &fakeStore{}, 1000)).ProcessEvent(context.Background(), req)
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("got %v", err)
	}
}

func TestHealthServices(t *testing.T) {
	for _, down := range []bool{false, true} {
		fake := &fakeStore{}
		if down {
			fake.pingErr = store.ErrUnavailable
		}
		conn := dial(t, fake, 1<<20)
		legacy, err := pb.NewEventServiceClient(conn).HealthCheck(context.Background(), &pb.HealthRequest{})
		wantLegacy := map[bool]string{false: "healthy", true: "database unavailable"}[down]
		if err != nil || legacy.Healthy == down || legacy.Message != wantLegacy {
			t.Fatalf("legacy health (down=%v): %v %v", down, legacy, err)
		}
		want := map[bool]healthpb.HealthCheckResponse_ServingStatus{false: healthpb.HealthCheckResponse_SERVING,
			true: healthpb.HealthCheckResponse_NOT_SERVING}[down]
		for _, service := range []string{"", ServiceName} {
			resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
			if err != nil || resp.Status != want {
				t.Fatalf("health %q (down=%v): %v %v", service, down, resp, err)
			}
		}
		_, err = healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: "other"})
		if status.Code(err) != codes.NotFound {
			t.Fatalf("unknown service: %v", err)
		}
	}
}

func TestProcessEventNeedsATokenWhenAuthIsOn(t *testing.T) {
	big := request()
	big.EventBody.Entities[0].UpdatedAttributes["big"] = strings.Repeat("x", 2000)
	cases := []struct {
		name, authorization string
		req                 *pb.EventRequest
		code                codes.Code
		message             string
	}{
		{"no token", "", request(), codes.Unauthenticated, "missing bearer token"},
		{"another scheme", "Basic dTpw", request(), codes.Unauthenticated, "missing bearer token"},
		{"bad token", "Bearer x.y.z", request(), codes.Unauthenticated, "invalid token"},
		{"expired", "Bearer " + authtest.Token(t, authtest.Key, time.Now().Add(-time.Minute)), request(), codes.Unauthenticated, "invalid token"},
		{"other key", "Bearer " + authtest.Token(t, strings.Repeat("k", 32), time.Now().Add(time.Hour)), request(), codes.Unauthenticated, "invalid token"},
		{"before the message size", "", big, codes.Unauthenticated, "missing bearer token"},
		{"before validation", "", &pb.EventRequest{}, codes.Unauthenticated, "missing bearer token"},
		{"valid", "Bearer " + authtest.Token(t, authtest.Key, time.Now().Add(time.Hour)), request(), codes.OK, ""},
		{"valid, then the size", "Bearer " + authtest.Token(t, authtest.Key, time.Now().Add(time.Hour)), big, codes.ResourceExhausted, ""},
	}
	tokens := auth.New(func() []byte { return []byte(authtest.Key) }, "", "")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := &fakeStore{}
			ctx := context.Background()
			if c.authorization != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", c.authorization)
			}
			_, err := pb.NewEventServiceClient(dialWithAuth(t, fake, 1000, tokens)).ProcessEvent(ctx, c.req)
			st := status.Convert(err)
			if st.Code() != c.code || (c.message != "" && st.Message() != c.message) {
				t.Fatalf("got %v, want %v %q", err, c.code, c.message)
			}
			if c.code == codes.Unauthenticated && len(fake.saved) != 0 {
				t.Fatal("an unauthenticated call wrote")
			}
		})
	}
	// The health services stay open.
	conn := dialWithAuth(t, &fakeStore{}, 1000, tokens)
	if resp, err := pb.NewEventServiceClient(conn).HealthCheck(context.Background(), &pb.HealthRequest{}); err != nil || !resp.Healthy {
		t.Fatalf("legacy health: %v %v", resp, err)
	}
	if resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil ||
		resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", resp, err)
	}
}
