package client

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perflab/apilab/internal/grpcweb"
	"github.com/perflab/apilab/internal/pb"
	"github.com/perflab/apilab/tools/loadgen/internal/payload"
	"github.com/perflab/apilab/tools/loadgen/internal/stats"
	"github.com/perflab/apilab/tools/loadgen/internal/target"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func stream(t *testing.T) *payload.Stream {
	t.Helper()
	tp, err := payload.NewTemplates(1, "4k", 100, 8)
	if err != nil {
		t.Fatal(err)
	}
	return tp.NewStream(1, 0)
}

func newClient(t *testing.T, protocol, raw string, timeout time.Duration) Client {
	t.Helper()
	return newClientWith(t, protocol, raw, Options{Timeout: timeout})
}

// newClientWith makes VU 0's client from these options, with protocol and target filled in.
func newClientWith(t *testing.T, protocol, raw string, o Options) Client {
	t.Helper()
	tg, err := target.Parse(protocol, raw, false)
	if err != nil {
		t.Fatal(err)
	}
	o.Protocol, o.Target = protocol, tg
	f, err := NewFactory(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	c, err := f.New(0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type want struct {
	code  string
	ok    bool
	class stats.Class
}

func check(t *testing.T, label string, got Outcome, w want) {
	t.Helper()
	if got.Code != w.code || got.OK != w.ok || got.Class != w.class {
		t.Errorf("%s: got %+v, want %+v", label, got, w)
	}
}

func TestREST(t *testing.T) {
	var mode atomic.Value
	var mu sync.Mutex
	remotes := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		remotes[r.RemoteAddr] = true
		mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/events" || r.Header.Get("Content-Type") != "application/json" || !json.Valid(body) {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		switch mode.Load().(string) {
		case "ok":
			_, _ = w.Write([]byte(`{"success":true,"message":"event processed","entityCount":1,"duplicate":false}`))
		case "400":
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":"eventHeader.uuid must be a UUID","status":400}`))
		case "503":
			w.WriteHeader(503)
		case "502":
			w.WriteHeader(502)
		case "garbage":
			_, _ = w.Write([]byte(`<html>`))
		case "false":
			_, _ = w.Write([]byte(`{"success":false}`))
		case "slow":
			time.Sleep(300 * time.Millisecond)
		}
	}))
	defer srv.Close()
	c := newClient(t, "rest", srv.URL, 100*time.Millisecond)
	req := c.Prepare(stream(t))
	if req.Bytes != len(req.Body) || req.Bytes < 4000 {
		t.Fatalf("prepared %d bytes", req.Bytes)
	}
	ctx := context.Background()
	cases := []struct {
		mode string
		want want
	}{
		{"ok", want{"200", true, stats.Acknowledged}},
		{"400", want{"400", false, stats.Rejected}},
		{"503", want{"503", false, stats.Rejected}},
		{"502", want{"502", false, stats.Ambiguous}},
		{"garbage", want{"bad_response", false, stats.Ambiguous}},
		{"false", want{"200_SUCCESS_FALSE", false, stats.Rejected}},
		{"ok", want{"200", true, stats.Acknowledged}},
	}
	for _, cs := range cases {
		mode.Store(cs.mode)
		check(t, cs.mode, c.Send(ctx, req), cs.want)
	}
	if len(remotes) != 1 {
		t.Errorf("one VU used %d connections, want 1 keep-alive connection", len(remotes))
	}
	mode.Store("slow")
	check(t, "slow", c.Send(ctx, req), want{"timeout", false, stats.Ambiguous})
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	check(t, "cancelled", c.Send(cancelled, req), want{"canceled", false, stats.Ambiguous})

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	_ = ln.Close()
	check(t, "refused", newClient(t, "rest", "http://"+addr, time.Second).Send(ctx, req), want{"transport", false, stats.Ambiguous})
}

type fakeGRPC struct {
	pb.UnimplementedEventServiceServer
	mode atomic.Value
	seen atomic.Int64
}

func (f *fakeGRPC) ProcessEvent(ctx context.Context, req *pb.EventRequest) (*pb.EventResponse, error) {
	f.seen.Add(1)
	if req.GetEventHeader().GetUuid() == "" || len(req.GetEventBody().GetEntities()) != 1 {
		return nil, status.Error(codes.InvalidArgument, "eventHeader.uuid must be a UUID")
	}
	switch f.mode.Load().(string) {
	case "invalid":
		return nil, status.Error(codes.InvalidArgument, "eventBody must be an object")
	case "dbdown":
		return nil, status.Error(codes.Unavailable, "database unavailable")
	case "false":
		return &pb.EventResponse{Success: false}, nil
	case "slow":
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
		}
	}
	return &pb.EventResponse{Success: true, Message: "event processed", EventUuid: req.GetEventHeader().GetUuid(), EntityCount: 1}, nil
}

func TestGRPC(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeGRPC{}
	srv := grpc.NewServer()
	pb.RegisterEventServiceServer(srv, fake)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	c := newClient(t, "grpc", ln.Addr().String(), 200*time.Millisecond)
	req := c.Prepare(stream(t))
	var msg pb.EventRequest
	if err := proto.Unmarshal(req.Body, &msg); err != nil || req.Bytes != len(req.Body) || proto.Size(&msg) != req.Bytes ||
		msg.GetEventHeader().GetUuid() == "" {
		t.Fatalf("gRPC request not prepared: %v", err)
	}
	ctx := context.Background()
	for _, cs := range []struct {
		mode string
		want want
	}{
		{"ok", want{"OK", true, stats.Acknowledged}},
		{"invalid", want{"INVALID_ARGUMENT", false, stats.Rejected}},
		{"dbdown", want{"UNAVAILABLE", false, stats.Rejected}},
		{"false", want{"OK_SUCCESS_FALSE", false, stats.Rejected}},
		{"slow", want{"timeout", false, stats.Ambiguous}},
	} {
		fake.mode.Store(cs.mode)
		check(t, cs.mode, c.Send(ctx, req), cs.want)
	}
	srv.Stop()
	check(t, "server gone", c.Send(ctx, req), want{"transport", false, stats.Ambiguous})
}

func TestGRPCConnectionCap(t *testing.T) {
	tg, _ := target.Parse("grpc", "127.0.0.1:1", false)
	f, _ := NewFactory(Options{Protocol: "grpc", Target: tg, Timeout: time.Second, Connections: 3})
	defer f.Close()
	for vu := 0; vu < 10; vu++ {
		if _, err := f.New(vu); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.conns) != 3 {
		t.Fatalf("%d ClientConns for 10 VUs with --connections 3", len(f.conns))
	}
}

// grpcWebServer speaks the gRPC-Web wire format the way the lab's Lambda does.
func grpcWebServer(t *testing.T, mode *atomic.Value) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != grpcWebPath || r.Header.Get("Content-Type") != "application/grpc-web+proto" ||
			len(body) < 5 || body[0] != 0 || int(binary.BigEndian.Uint32(body[1:5])) != len(body)-5 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var req pb.EventRequest
		if err := proto.Unmarshal(body[5:], &req); err != nil || req.GetEventHeader().GetUuid() == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/grpc-web+proto")
		switch mode.Load().(string) {
		case "ok":
			msg, _ := proto.Marshal(&pb.EventResponse{Success: true, Message: "event processed"})
			_, _ = w.Write(grpcweb.AppendFrame(nil, grpcweb.FlagData, msg))
			_, _ = w.Write(grpcweb.AppendFrame(nil, grpcweb.FlagTrailers, []byte("grpc-status: 0\r\ngrpc-message: \r\n")))
		case "invalid":
			_, _ = w.Write(grpcweb.AppendFrame(nil, grpcweb.FlagTrailers, []byte("grpc-status: 3\r\ngrpc-message: eventBody%20must%20be%20an%20object\r\n")))
		case "trailers-only":
			w.Header().Set("Grpc-Status", "14")
			w.Header().Set("Grpc-Message", "database%20unavailable")
		case "no-status":
			msg, _ := proto.Marshal(&pb.EventResponse{Success: true})
			_, _ = w.Write(grpcweb.AppendFrame(nil, grpcweb.FlagData, msg))
		case "504":
			w.WriteHeader(http.StatusGatewayTimeout)
		}
	}))
}

func TestGRPCWeb(t *testing.T) {
	var mode atomic.Value
	srv := grpcWebServer(t, &mode)
	defer srv.Close()
	c := newClient(t, "grpcweb", srv.URL, time.Second)
	req := c.Prepare(stream(t))
	if req.Body[0] != 0 || int(binary.BigEndian.Uint32(req.Body[1:5])) != len(req.Body)-5 {
		t.Fatal("request is not one length-prefixed frame")
	}
	ctx := context.Background()
	for _, cs := range []struct {
		mode string
		want want
	}{
		{"ok", want{"OK", true, stats.Acknowledged}},
		{"invalid", want{"INVALID_ARGUMENT", false, stats.Rejected}},
		{"trailers-only", want{"UNAVAILABLE", false, stats.Rejected}},
		{"no-status", want{"bad_response", false, stats.Ambiguous}},
		{"504", want{"504", false, stats.Ambiguous}},
	} {
		mode.Store(cs.mode)
		check(t, cs.mode, c.Send(ctx, req), cs.want)
	}
}

func TestParseResponseMessage(t *testing.T) {
	body := grpcweb.AppendFrame(nil, grpcweb.FlagTrailers, []byte("Grpc-Status: 3\r\nGrpc-Message: eventBody.entities%5B0%5D must be an object\r\n"))
	st, resp, err := ParseResponse(http.Header{}, body)
	if err != nil || st.Code() != codes.InvalidArgument || st.Message() != "eventBody.entities[0] must be an object" || resp != nil {
		t.Fatalf("got %v %v %v", st, resp, err)
	}
	if _, _, err := ParseResponse(http.Header{}, []byte{0, 0, 0, 9, 1}); err == nil {
		t.Fatal("a truncated frame must be an error")
	}
}
