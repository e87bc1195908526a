package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perflab/apilab/internal/pb"
	"google.golang.org/grpc"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"attack"},
		{"run", "--target", "http://127.0.0.1:1", "--mode", "smoke"},
		{"run", "--protocol", "soap", "--target", "http://127.0.0.1:1", "--mode", "smoke"},
		{"run", "--protocol", "rest", "--target", "http://10.1.2.3:8080", "--mode", "smoke"},
		{"run", "--protocol", "grpc", "--target", "example.com:9090", "--mode", "smoke"},
		{"run", "--protocol", "rest", "--target", "http://127.0.0.1:1", "--mode", "soak"},
		{"run", "--protocol", "rest", "--target", "http://127.0.0.1:1", "--mode", "full", "--payload-size", "400b"},
		{"run", "--protocol", "rest", "--target", "http://127.0.0.1:1", "--phases", "10:1m", "--timeout", "0"},
		{"run", "--protocol", "rest", "--target", "http://127.0.0.1:1", "--mode", "full", "--bogus"},
	} {
		if code, _, _ := runCLI(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
	_, _, stderr := runCLI(t, "run", "--protocol", "rest", "--target", "http://192.168.0.10:80", "--mode", "smoke")
	if !strings.Contains(stderr, "non-loopback") {
		t.Errorf("refusal message: %q", stderr)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "perflab-loadgen "+Version+" (go") {
		t.Fatalf("%d %q", code, out)
	}
}

func TestUnreachableExitsOne(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	_ = ln.Close()
	summary := filepath.Join(t.TempDir(), "sum.json")
	code, _, stderr := runCLI(t, "run", "--protocol", "rest", "--target", "http://"+addr, "--mode", "smoke", "--summary", summary)
	if code != ExitUnreachable || !strings.Contains(stderr, "unreachable") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var sum map[string]any
	data, _ := os.ReadFile(summary)
	if json.Unmarshal(data, &sum) != nil || sum["status"] != "unreachable" {
		t.Fatalf("summary %s", data)
	}
}

type okServer struct {
	pb.UnimplementedEventServiceServer
}

func (okServer) ProcessEvent(_ context.Context, r *pb.EventRequest) (*pb.EventResponse, error) {
	return &pb.EventResponse{Success: true, EventUuid: r.GetEventHeader().GetUuid(), EntityCount: 1}, nil
}

// TestSmokeOverEveryProtocol drives the whole command, as the runner does, and reads its summary.
func TestSmokeOverEveryProtocol(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	pb.RegisterEventServiceServer(gs, okServer{})
	go func() { _ = gs.Serve(ln) }()
	defer gs.Stop()
	rest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"success":true}`))
	}))
	defer rest.Close()
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte{0x80, 0, 0, 0, 16})
		_, _ = w.Write([]byte("grpc-status: 0\r\n"))
	}))
	defer web.Close()

	for proto, tgt := range map[string]string{"rest": rest.URL, "grpc": ln.Addr().String(), "grpcweb": web.URL} {
		dir := t.TempDir()
		summary, samples := filepath.Join(dir, "sum.json"), filepath.Join(dir, "s.csv.gz")
		code, out, stderr := runCLI(t, "run", "--protocol", proto, "--target", tgt, "--mode", "smoke",
			"--payload-size", "8k", "--seed", "7", "--summary", summary, "--samples", samples)
		if proto == "grpcweb" {
			// A trailers frame without a data frame is OK without success=true: rejected, but the run completes.
			if code != 0 || !strings.Contains(out, "5 rejected") {
				t.Fatalf("grpcweb: exit %d\n%s%s", code, out, stderr)
			}
			continue
		}
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", proto, code, stderr)
		}
		var sum struct {
			Status  string
			Options struct {
				Seed   uint64
				Warmup string
			}
			Warmup *json.RawMessage
			Phases []struct {
				Name     string
				VUs      int `json:"vus"`
				Requests int
				Failures int
			}
			Totals struct {
				Acknowledged int
				Samples      int
				PayloadBytes struct{ Mean float64 }
			}
		}
		data, _ := os.ReadFile(summary)
		if err := json.Unmarshal(data, &sum); err != nil {
			t.Fatal(err)
		}
		if sum.Status != "completed" || sum.Options.Seed != 7 || sum.Options.Warmup != "0s" || sum.Warmup != nil ||
			len(sum.Phases) != 1 || sum.Phases[0].Name != "smoke" || sum.Phases[0].VUs != 1 || sum.Phases[0].Requests != 5 ||
			sum.Totals.Acknowledged != 5 || sum.Totals.Samples != 5 {
			t.Fatalf("%s summary:\n%s", proto, data)
		}
		if proto == "rest" && (sum.Totals.PayloadBytes.Mean < 8028 || sum.Totals.PayloadBytes.Mean > 8356) {
			t.Fatalf("8k REST bodies average %v bytes", sum.Totals.PayloadBytes.Mean)
		}
	}
}

func TestSegmentAndStartAtUsage(t *testing.T) {
	base := []string{"run", "--protocol", "rest", "--target", "http://127.0.0.1:1", "--phases", "10:1s"}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, extra := range [][]string{
		{"--segment", "0/2"}, {"--segment", "3/2"}, {"--segment", "x"},
		{"--start-at", "tomorrow"}, {"--start-at", "2001-01-01T00:00:00Z"},
	} {
		if code, _, _ := runCLI(t, append(append([]string{}, base...), extra...)...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", extra, code, ExitUsage)
		}
	}
	smoke := []string{"run", "--protocol", "rest", "--target", "http://127.0.0.1:1", "--mode", "smoke", "--start-at", future}
	if code, _, stderr := runCLI(t, smoke...); code != ExitUsage || !strings.Contains(stderr, "smoke") {
		t.Errorf("smoke with --start-at: exit %d %s", code, stderr)
	}
}

// --auth takes the token from JWT_TOKEN: refused without one; with one, every request carries it and the
// summary says a token was sent without holding it.
func TestAuthSendsJWTTokenAndNeverWritesIt(t *testing.T) {
	const token = "aaa.bbb.ccc"
	t.Setenv("JWT_TOKEN", "")
	if code, _, stderr := runCLI(t, "run", "--protocol", "rest", "--target", "http://127.0.0.1:1", "--mode", "smoke",
		"--auth"); code != ExitUsage || !strings.Contains(stderr, "JWT_TOKEN") {
		t.Fatalf("--auth without JWT_TOKEN: exit %d, %s", code, stderr)
	}
	var authorized, total atomic.Int64
	rest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		total.Add(1)
		if r.Header.Get("Authorization") == "Bearer "+token {
			authorized.Add(1)
		}
		_, _ = w.Write([]byte(`{"success":true}`))
	}))
	defer rest.Close()
	t.Setenv("JWT_TOKEN", token)
	summary := filepath.Join(t.TempDir(), "sum.json")
	if code, _, stderr := runCLI(t, "run", "--protocol", "rest", "--target", rest.URL, "--mode", "smoke", "--auth",
		"--summary", summary); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if total.Load() == 0 || authorized.Load() != total.Load() {
		t.Fatalf("%d of %d requests carried the token", authorized.Load(), total.Load())
	}
	written, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(written), token) || !strings.Contains(string(written), `"auth": true`) && !strings.Contains(string(written), `"auth":true`) {
		t.Fatalf("summary must say auth without the token: %s", written)
	}
}
