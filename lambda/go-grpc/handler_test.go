package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/perflab/apilab/internal/auth"
	"github.com/perflab/apilab/internal/auth/authtest"
	"github.com/perflab/apilab/internal/event"
	"github.com/perflab/apilab/internal/grpcapi"
	"github.com/perflab/apilab/internal/pb"
	"github.com/perflab/apilab/internal/store"
)

// fakeService answers ProcessEvent from a script and records the requests.
type fakeService struct {
	pb.UnimplementedEventServiceServer
	got    []*pb.EventRequest
	answer func(*pb.EventRequest) (*pb.EventResponse, error)
}

func (f *fakeService) ProcessEvent(_ context.Context, req *pb.EventRequest) (*pb.EventResponse, error) {
	f.got = append(f.got, req)
	return f.answer(req)
}

func (f *fakeService) HealthCheck(context.Context, *pb.HealthRequest) (*pb.HealthResponse, error) {
	return &pb.HealthResponse{Healthy: true, Message: "healthy"}, nil
}

type fakeHealth struct {
	healthpb.UnimplementedHealthServer
	status healthpb.HealthCheckResponse_ServingStatus
}

func (f *fakeHealth) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return &healthpb.HealthCheckResponse{Status: f.status}, nil
}

const (
	maxMessage   = 1024
	processEvent = "/com.example.grpc.EventService/ProcessEvent"
	binaryType   = "application/grpc-web+proto"
)

func newTestHandler() (*Handler, *fakeService) {
	svc := &fakeService{answer: func(req *pb.EventRequest) (*pb.EventResponse, error) {
		return &pb.EventResponse{Success: true, Message: "event processed",
			EventUuid: req.GetEventHeader().GetUuid(), EntityCount: int32(len(req.GetEventBody().GetEntities()))}, nil
	}}
	return NewHandler(svc, &fakeHealth{status: healthpb.HealthCheckResponse_SERVING}, nil, maxMessage), svc
}

func frame(flags byte, payload []byte) []byte {
	out := make([]byte, 5, 5+len(payload))
	out[0] = flags
	binary.BigEndian.PutUint32(out[1:], uint32(len(payload)))
	return append(out, payload...)
}

func sampleRequest() *pb.EventRequest {
	return &pb.EventRequest{
		EventHeader: &pb.EventHeader{Uuid: "550e8400-e29b-41d4-a716-446655440000", EventName: "CarCreated", EventType: "CarCreated"},
		EventBody: &pb.EventBody{Entities: []*pb.EntityUpdate{
			{EntityType: "Car", EntityId: "car-1", UpdatedAttributes: map[string]string{"a": "1"}}}},
	}
}

// binaryEvent is what the gateway sends for a binary gRPC-Web request: the body base64-encoded.
func binaryEvent(path, contentType string, body []byte) events.APIGatewayV2HTTPRequest {
	e := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RawPath: path, Headers: map[string]string{"content-type": contentType},
		Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true,
	}
	e.RequestContext.HTTP.Method = "POST"
	return e
}

type reply struct {
	httpStatus int
	messages   [][]byte
	code       string
	message    string
}

// parse checks the response envelope and splits the gRPC-Web body into frames.
func parse(t *testing.T, resp events.APIGatewayV2HTTPResponse, text bool) reply {
	t.Helper()
	var body []byte
	var err error
	switch {
	case text:
		if resp.IsBase64Encoded || resp.Headers["content-type"] != "application/grpc-web-text+proto" {
			t.Fatalf("text response envelope: %+v", resp)
		}
		body, err = base64.StdEncoding.DecodeString(resp.Body)
	default:
		if !resp.IsBase64Encoded || resp.Headers["content-type"] != binaryType {
			t.Fatalf("binary response envelope: %+v", resp)
		}
		body, err = base64.StdEncoding.DecodeString(resp.Body)
	}
	if err != nil {
		t.Fatal(err)
	}
	r := reply{httpStatus: resp.StatusCode}
	trailersSeen := false
	for len(body) > 0 {
		if len(body) < 5 {
			t.Fatalf("truncated frame header in response")
		}
		flags, n := body[0], binary.BigEndian.Uint32(body[1:5])
		payload := body[5 : 5+n]
		body = body[5+n:]
		if flags == 0x80 {
			trailersSeen = true
			for _, line := range strings.Split(string(payload), "\r\n") {
				name, value, _ := strings.Cut(line, ":")
				switch name {
				case "grpc-status":
					r.code = value
				case "grpc-message":
					r.message = value
				}
			}
			if len(body) != 0 {
				t.Fatal("data after the trailers frame")
			}
		} else {
			r.messages = append(r.messages, payload)
		}
	}
	if !trailersSeen {
		t.Fatal("no trailers frame")
	}
	return r
}

func TestProcessEventBinary(t *testing.T) {
	h, svc := newTestHandler()
	in, _ := proto.Marshal(sampleRequest())
	resp, err := h.Handle(context.Background(), binaryEvent(processEvent, binaryType, frame(0, in)))
	if err != nil {
		t.Fatal(err)
	}
	r := parse(t, resp, false)
	if r.httpStatus != 200 || r.code != "0" || r.message != "" || len(r.messages) != 1 {
		t.Fatalf("got %+v", r)
	}
	var out pb.EventResponse
	if err := proto.Unmarshal(r.messages[0], &out); err != nil {
		t.Fatal(err)
	}
	if !out.Success || out.EventUuid != "550e8400-e29b-41d4-a716-446655440000" || out.EntityCount != 1 {
		t.Fatalf("response %v", &out)
	}
	if len(svc.got) != 1 || !proto.Equal(svc.got[0], sampleRequest()) {
		t.Fatalf("service got %v", svc.got)
	}
}

func TestProcessEventText(t *testing.T) {
	h, _ := newTestHandler()
	in, _ := proto.Marshal(sampleRequest())
	// grpc-web-text travels as text: the gateway does not base64 it a second time.
	e := binaryEvent(processEvent, "application/grpc-web-text", nil)
	e.Body, e.IsBase64Encoded = base64.StdEncoding.EncodeToString(frame(0, in)), false
	resp, _ := h.Handle(context.Background(), e)
	r := parse(t, resp, true)
	if r.code != "0" || len(r.messages) != 1 {
		t.Fatalf("got %+v", r)
	}
}

func TestServiceStatusGoesToTrailers(t *testing.T) {
	h, svc := newTestHandler()
	msg := "eventBody.entities[0].entityId must be a non-empty string of at most 255 characters"
	svc.answer = func(*pb.EventRequest) (*pb.EventResponse, error) {
		return nil, status.Error(codes.InvalidArgument, msg)
	}
	in, _ := proto.Marshal(sampleRequest())
	resp, _ := h.Handle(context.Background(), binaryEvent(processEvent, binaryType, frame(0, in)))
	r := parse(t, resp, false)
	if r.httpStatus != 200 || r.code != "3" || r.message != msg || len(r.messages) != 0 {
		t.Fatalf("got %+v", r)
	}

	svc.answer = func(*pb.EventRequest) (*pb.EventResponse, error) {
		return nil, status.Error(codes.Unavailable, "database unavailable")
	}
	resp, _ = h.Handle(context.Background(), binaryEvent(processEvent, binaryType, frame(0, in)))
	if r := parse(t, resp, false); r.code != "14" || r.message != "database unavailable" {
		t.Fatalf("got %+v", r)
	}

	// A plain error must not leak: INTERNAL "internal error".
	svc.answer = func(*pb.EventRequest) (*pb.EventResponse, error) {
		return nil, errors.New("pq: secret detail")
	}
	resp, _ = h.Handle(context.Background(), binaryEvent(processEvent, binaryType, frame(0, in)))
	if r := parse(t, resp, false); r.code != "13" || r.message != "internal error" {
		t.Fatalf("got %+v", r)
	}
}

// unstorableStore is a database that rejects every event's values as data (SQLSTATE class 22).
type unstorableStore struct{}

func (unstorableStore) SaveEvent(context.Context, *event.Event) (bool, error) {
	return false, fmt.Errorf("%w: numeric field overflow", store.ErrUnstorable)
}

func (unstorableStore) Ping(context.Context) error { return nil }

// The real EventService behind the handler: the contract's new INVALID_ARGUMENT answers reach the trailers.
func TestNestingAndUnstorableValuesAreInvalidArgument(t *testing.T) {
	service := grpcapi.NewEventService(unstorableStore{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h := NewHandler(service, &fakeHealth{status: healthpb.HealthCheckResponse_SERVING}, nil, maxMessage)
	in, _ := proto.Marshal(sampleRequest())
	resp, _ := h.Handle(context.Background(), binaryEvent(processEvent, binaryType, frame(0, in)))
	if r := parse(t, resp, false); r.code != "3" || r.message != "event contains a value the database cannot store" {
		t.Fatalf("got %+v", r)
	}
	deep := sampleRequest()
	deep.EventBody.Entities[0].UpdatedAttributes = map[string]string{"d": strings.Repeat("[", 60) + strings.Repeat("]", 60)}
	in, _ = proto.Marshal(deep)
	resp, _ = h.Handle(context.Background(), binaryEvent(processEvent, binaryType, frame(0, in)))
	if r := parse(t, resp, false); r.code != "3" || r.message != "event nests deeper than 64 levels" {
		t.Fatalf("got %+v", r)
	}
}

func TestFramingErrors(t *testing.T) {
	in, _ := proto.Marshal(sampleRequest())
	full := frame(0, in)
	cases := []struct {
		name string
		body []byte
		code string
	}{
		{"empty body", nil, "3"},
		{"partial header", full[:3], "3"},
		{"partial message", full[:len(full)-1], "3"},
		{"compressed flag", frame(0x01, in), "3"},
		{"two frames", append(append([]byte{}, full...), full...), "3"},
		{"oversize frame", frame(0, make([]byte, maxMessage+1)), "8"},
		{"not protobuf", frame(0, []byte{0xff, 0xff, 0xff}), "3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, svc := newTestHandler()
			resp, err := h.Handle(context.Background(), binaryEvent(processEvent, binaryType, c.body))
			if err != nil {
				t.Fatal(err)
			}
			r := parse(t, resp, false)
			if r.httpStatus != 200 || r.code != c.code || len(r.messages) != 0 || r.message == "" {
				t.Fatalf("got %+v; want grpc-status %s", r, c.code)
			}
			if len(svc.got) != 0 {
				t.Fatal("the service was called")
			}
		})
	}
}

func TestWrongContentTypeIs415(t *testing.T) {
	h, svc := newTestHandler()
	in, _ := proto.Marshal(sampleRequest())
	for _, ct := range []string{"application/json", "application/grpc", "application/grpc-web+json", ""} {
		resp, _ := h.Handle(context.Background(), binaryEvent(processEvent, ct, frame(0, in)))
		if resp.StatusCode != 415 || resp.Headers["content-type"] != "application/json" ||
			!strings.Contains(resp.Body, `"status":415`) {
			t.Fatalf("%q: got %+v", ct, resp)
		}
	}
	if len(svc.got) != 0 {
		t.Fatal("the service was called")
	}
}

func TestWrongMethodIs405(t *testing.T) {
	h, _ := newTestHandler()
	e := binaryEvent(processEvent, binaryType, nil)
	e.RequestContext.HTTP.Method = "GET"
	if resp, _ := h.Handle(context.Background(), e); resp.StatusCode != 405 {
		t.Fatalf("got %+v", resp)
	}
}

func TestUnknownMethodIsUnimplemented(t *testing.T) {
	h, _ := newTestHandler()
	resp, _ := h.Handle(context.Background(), binaryEvent("/com.example.grpc.EventService/Nope", binaryType, frame(0, nil)))
	if r := parse(t, resp, false); r.code != "12" {
		t.Fatalf("got %+v", r)
	}
}

func TestHealthServices(t *testing.T) {
	h, _ := newTestHandler()
	resp, _ := h.Handle(context.Background(), binaryEvent("/grpc.health.v1.Health/Check", binaryType, frame(0, nil)))
	r := parse(t, resp, false)
	var out healthpb.HealthCheckResponse
	if r.code != "0" || len(r.messages) != 1 || proto.Unmarshal(r.messages[0], &out) != nil ||
		out.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("got %+v %v", r, &out)
	}
	resp, _ = h.Handle(context.Background(), binaryEvent("/com.example.grpc.EventService/HealthCheck", binaryType, frame(0, nil)))
	r = parse(t, resp, false)
	var legacy pb.HealthResponse
	if r.code != "0" || proto.Unmarshal(r.messages[0], &legacy) != nil || !legacy.Healthy || legacy.Message != "healthy" {
		t.Fatalf("got %+v %v", r, &legacy)
	}
}

func TestMessageIsPercentEncoded(t *testing.T) {
	h, svc := newTestHandler()
	svc.answer = func(*pb.EventRequest) (*pb.EventResponse, error) {
		return nil, status.Error(codes.InvalidArgument, "100% wrong")
	}
	resp, _ := h.Handle(context.Background(), binaryEvent(processEvent, binaryType, frame(0, nil)))
	raw, _ := base64.StdEncoding.DecodeString(resp.Body)
	if !bytes.Contains(raw, []byte("grpc-message:100%25 wrong\r\n")) {
		t.Fatalf("trailers %q", raw)
	}
}

func TestProcessEventNeedsATokenWhenAuthIsOn(t *testing.T) {
	key := []byte(authtest.Key)
	valid := authtest.Token(t, authtest.Key, time.Now().Add(time.Hour))
	svc := &fakeService{answer: func(req *pb.EventRequest) (*pb.EventResponse, error) {
		return &pb.EventResponse{Success: true, Message: "event processed"}, nil
	}}
	h := NewHandler(svc, &fakeHealth{status: healthpb.HealthCheckResponse_SERVING},
		auth.New(func() []byte { return key }, "", ""), maxMessage)
	in, _ := proto.Marshal(sampleRequest())
	cases := []struct {
		name, authorization string
		body                []byte
		code, message       string
	}{
		{"no token", "", frame(0, in), "16", "missing bearer token"},
		{"bad token", "Bearer " + valid + "x", frame(0, in), "16", "invalid token"},
		{"before the framing and the size", "", frame(0, make([]byte, maxMessage+1)), "16", "missing bearer token"},
		{"valid", "Bearer " + valid, frame(0, in), "0", ""},
	}
	for _, c := range cases {
		e := binaryEvent(processEvent, binaryType, c.body)
		if c.authorization != "" {
			e.Headers["authorization"] = c.authorization
		}
		resp, _ := h.Handle(context.Background(), e)
		if r := parse(t, resp, false); r.httpStatus != 200 || r.code != c.code || r.message != c.message {
			t.Fatalf("%s: got %+v", c.name, r)
		}
	}
	if len(svc.got) != 1 {
		t.Fatalf("the service got %d calls, want only the authenticated one", len(svc.got))
	}
	health, _ := proto.Marshal(&healthpb.HealthCheckRequest{})
	resp, _ := h.Handle(context.Background(), binaryEvent("/grpc.health.v1.Health/Check", binaryType, frame(0, health)))
	if r := parse(t, resp, false); r.code != "0" {
		t.Fatalf("health needs no token: %+v", r)
	}
}
