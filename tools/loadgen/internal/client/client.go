// Package client sends one event per call over REST, gRPC or gRPC-Web and classifies the answer.
//
// Each virtual user owns one Client: REST and gRPC-Web keep one keep-alive connection per VU; gRPC
// uses one ClientConn per VU, shared round-robin once the --connections cap is reached.
package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/perflab/apilab/tools/loadgen/internal/payload"
	"github.com/perflab/apilab/tools/loadgen/internal/stats"
	"github.com/perflab/apilab/tools/loadgen/internal/target"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// Protocols accepted by --protocol.
var Protocols = []string{"rest", "grpc", "grpcweb"}

// Request is an event encoded for one protocol, built before the clock starts. Body is the client's
// reusable buffer: valid until its next Prepare.
type Request struct {
	Body  []byte // REST JSON, gRPC protobuf message, or gRPC-Web frame
	Bytes int    // what goes on the wire as the request body
}

// Outcome is a checked answer.
type Outcome struct {
	Code  string // HTTP status ("200", "503"), gRPC code name ("OK", "INVALID_ARGUMENT"), "transport", "timeout", "canceled", "bad_response"
	OK    bool
	Class stats.Class
}

// Client sends events. Not safe for concurrent use: one per VU.
type Client interface {
	// Prepare writes the stream's next event in the client's encoding.
	Prepare(s *payload.Stream) Request
	Send(ctx context.Context, req Request) Outcome
	// Close releases what the client alone holds (its HTTP connection), when its VU stops.
	Close()
}

// Options configure a Factory.
type Options struct {
	Protocol    string
	Target      target.Target
	Timeout     time.Duration
	Connections int // gRPC: at most this many ClientConns, shared round-robin; 0 = one per VU
	// Token, when set, goes with every request as `Authorization: Bearer <Token>` (gRPC: the metadata
	// `authorization`), as the contract's auth profile asks.
	Token string
}

// Factory makes the per-VU clients and owns the connections.
type Factory struct {
	opts  Options
	mu    sync.Mutex
	conns []*grpc.ClientConn
	https []*httpConn
}

// NewFactory checks the options.
func NewFactory(o Options) (*Factory, error) {
	switch o.Protocol {
	case "rest", "grpc", "grpcweb":
	default:
		return nil, fmt.Errorf("unknown protocol %q (use rest, grpc or grpcweb)", o.Protocol)
	}
	if o.Timeout <= 0 {
		return nil, fmt.Errorf("--timeout must be > 0")
	}
	if o.Connections < 0 {
		return nil, fmt.Errorf("--connections must not be negative")
	}
	return &Factory{opts: o}, nil
}

// New returns the client of VU number vu (0-based).
func (f *Factory) New(vu int) (Client, error) {
	switch f.opts.Protocol {
	case "rest":
		return &restClient{http: f.httpConn(restPath, f.withAuth([][2]string{{"Content-Type", "application/json"}}))}, nil
	case "grpcweb":
		return &grpcWebClient{http: f.httpConn(grpcWebPath, f.withAuth([][2]string{{"Content-Type", "application/grpc-web+proto"},
			{"Accept", "application/grpc-web+proto"}, {"X-Grpc-Web", "1"}}))}, nil
	default:
		conn, err := f.grpcConn(vu)
		if err != nil {
			return nil, err
		}
		c := &grpcClient{conn: conn, timeout: f.opts.Timeout}
		if f.opts.Token != "" {
			c.md = metadata.Pairs("authorization", "Bearer "+f.opts.Token)
		}
		return c, nil
	}
}

// withAuth adds the bearer token to an HTTP client's fixed headers (written once per connection's
// request head, so a token costs no work per request beyond its bytes).
func (f *Factory) withAuth(headers [][2]string) [][2]string {
	if f.opts.Token == "" {
		return headers
	}
	return append(headers, [2]string{"Authorization", "Bearer " + f.opts.Token})
}

// httpConn is one keep-alive connection per VU, never through a proxy (the target is what was checked).
func (f *Factory) httpConn(path string, headers [][2]string) *httpConn {
	t := f.opts.Target
	host := t.Address
	if h, port, err := net.SplitHostPort(t.Address); err == nil && ((t.TLS && port == "443") || (!t.TLS && port == "80")) {
		host = h // the default port is left out of Host
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
	}
	c := newHTTPConn(t.Address, host, path, t.TLS, headers, f.opts.Timeout)
	f.mu.Lock()
	f.https = append(f.https, c)
	f.mu.Unlock()
	return c
}

func (f *Factory) grpcConn(vu int) (*grpc.ClientConn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.opts.Connections > 0 && len(f.conns) >= f.opts.Connections {
		return f.conns[vu%len(f.conns)], nil
	}
	creds := insecure.NewCredentials()
	if f.opts.Target.TLS {
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	conn, err := grpc.NewClient(f.opts.Target.Address, grpc.WithTransportCredentials(creds),
		grpc.WithNoProxy(), grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(4<<20)))
	if err != nil {
		return nil, fmt.Errorf("grpc client for %s: %w", f.opts.Target.Address, err)
	}
	f.conns = append(f.conns, conn)
	return conn, nil
}

// Close closes every connection the factory opened.
func (f *Factory) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		_ = c.Close()
	}
	for _, c := range f.https {
		c.close()
	}
}

// transportOutcome classifies a failure that produced no answer. parent is the caller's context:
// when it was cancelled (Ctrl-C) the request was cut short by us, not by the target.
func transportOutcome(parent context.Context, err error) Outcome {
	if parent.Err() != nil {
		return Outcome{Code: "canceled", Class: stats.Ambiguous}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return Outcome{Code: "timeout", Class: stats.Ambiguous}
	}
	return Outcome{Code: "transport", Class: stats.Ambiguous}
}

// httpStatusOutcome classifies a non-200 HTTP answer. The lab's APIs write nothing on an error, so a
// status from them is definitive; 502 and 504 come from a gateway in front of the API (API Gateway,
// Lambda) and say nothing about whether the API stored the event.
func httpStatusOutcome(code int) Outcome {
	o := Outcome{Code: fmt.Sprint(code), Class: stats.Rejected}
	if code == http.StatusBadGateway || code == http.StatusGatewayTimeout {
		o.Class = stats.Ambiguous
	}
	return o
}

// grpcOutcome classifies a gRPC status (from grpc-go or a gRPC-Web trailer) and, for OK, the
// response's success flag (nil: no response message).
func grpcOutcome(parent context.Context, code codes.Code, message string, success *bool) Outcome {
	switch code {
	case codes.OK:
		if success == nil || !*success {
			// The contract forbids OK with success=false (the original Java gRPC API did it on errors).
			return Outcome{Code: "OK_SUCCESS_FALSE", Class: stats.Rejected}
		}
		return Outcome{Code: "OK", OK: true, Class: stats.Acknowledged}
	case codes.DeadlineExceeded:
		if parent.Err() != nil {
			return Outcome{Code: "canceled", Class: stats.Ambiguous}
		}
		return Outcome{Code: "timeout", Class: stats.Ambiguous}
	case codes.Canceled:
		return Outcome{Code: "canceled", Class: stats.Ambiguous}
	case codes.Unavailable:
		// The API's own UNAVAILABLE carries this exact message and wrote nothing; any other
		// UNAVAILABLE is grpc-go reporting a broken or refused connection.
		if message == "database unavailable" {
			return Outcome{Code: CodeName(codes.Unavailable), Class: stats.Rejected}
		}
		return Outcome{Code: "transport", Class: stats.Ambiguous}
	default:
		return Outcome{Code: CodeName(code), Class: stats.Rejected}
	}
}

var codeNames = map[codes.Code]string{
	codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN", codes.InvalidArgument: "INVALID_ARGUMENT",
	codes.DeadlineExceeded: "DEADLINE_EXCEEDED", codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
	codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED", codes.OutOfRange: "OUT_OF_RANGE",
	codes.Unimplemented: "UNIMPLEMENTED", codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE",
	codes.DataLoss: "DATA_LOSS", codes.Unauthenticated: "UNAUTHENTICATED",
}

// CodeName is the canonical gRPC code name, as the contract spells it (INVALID_ARGUMENT).
func CodeName(c codes.Code) string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("CODE_%d", uint32(c))
}
