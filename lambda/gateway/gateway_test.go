package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// fakeEmulator records the events it receives and answers with respond(event).
type fakeEmulator struct {
	*httptest.Server
	mu       sync.Mutex
	received []events.APIGatewayV2HTTPRequest
}

func newFakeEmulator(t *testing.T, respond func(events.APIGatewayV2HTTPRequest) any) *fakeEmulator {
	t.Helper()
	f := &fakeEmulator{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != invokePath || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		var event events.APIGatewayV2HTTPRequest
		if err := json.NewDecoder(r.Body).Decode(&event); err != nil {
			t.Errorf("emulator got invalid JSON: %v", err)
		}
		f.mu.Lock()
		f.received = append(f.received, event)
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(respond(event))
	}))
	t.Cleanup(f.Close)
	return f
}

func newTestGateway(t *testing.T, emulators ...string) *httptest.Server {
	t.Helper()
	gw, err := NewGateway(emulators, 2*time.Second, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return srv
}

func TestRequestBecomesPayloadV2Event(t *testing.T) {
	emu := newFakeEmulator(t, func(events.APIGatewayV2HTTPRequest) any {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "{}"}
	})
	gw := newTestGateway(t, emu.URL)
	req, _ := http.NewRequest(http.MethodPost, gw.URL+"/api/v1/events?a=1&a=2&b=x%20y", strings.NewReader(`{"k":"v"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Custom", "Value")
	req.Header.Set("Cookie", "c1=1; c2=2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	if len(emu.received) != 1 {
		t.Fatalf("emulator got %d invocations", len(emu.received))
	}
	e := emu.received[0]
	checks := map[string][2]string{
		"version":        {e.Version, "2.0"},
		"routeKey":       {e.RouteKey, "$default"},
		"rawPath":        {e.RawPath, "/api/v1/events"},
		"rawQueryString": {e.RawQueryString, "a=1&a=2&b=x%20y"},
		"query a":        {e.QueryStringParameters["a"], "1,2"},
		"query b":        {e.QueryStringParameters["b"], "x y"},
		"content-type":   {e.Headers["content-type"], "application/json"},
		"x-custom":       {e.Headers["x-custom"], "Value"},
		"method":         {e.RequestContext.HTTP.Method, "POST"},
		"path":           {e.RequestContext.HTTP.Path, "/api/v1/events"},
		"stage":          {e.RequestContext.Stage, "$default"},
		"body":           {e.Body, `{"k":"v"}`},
		"cookies":        {strings.Join(e.Cookies, "|"), "c1=1|c2=2"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
	if e.IsBase64Encoded {
		t.Error("a JSON body must travel as text")
	}
	if _, ok := e.Headers["cookie"]; ok {
		t.Error("cookies must move out of the headers")
	}
	if e.RequestContext.RequestID == "" || e.RequestContext.TimeEpoch == 0 {
		t.Error("requestContext lacks requestId or timeEpoch")
	}
}

func TestBinaryBodyIsBase64(t *testing.T) {
	emu := newFakeEmulator(t, func(events.APIGatewayV2HTTPRequest) any {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}
	})
	gw := newTestGateway(t, emu.URL)
	payload := []byte{0, 0, 0, 0, 2, 0xff, 0xfe}
	resp, err := http.Post(gw.URL+"/svc/Method", "application/grpc-web+proto", strings.NewReader(string(payload)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	e := emu.received[0]
	if !e.IsBase64Encoded || e.Body != base64.StdEncoding.EncodeToString(payload) {
		t.Fatalf("body %q base64=%v", e.Body, e.IsBase64Encoded)
	}
	// A "text" content type with bytes that are not UTF-8 is still base64.
	resp, err = http.Post(gw.URL+"/x", "application/json", strings.NewReader("\xff{"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !emu.received[1].IsBase64Encoded {
		t.Fatal("invalid UTF-8 must be base64-encoded")
	}
}

func TestFunctionResponseBecomesHTTP(t *testing.T) {
	emu := newFakeEmulator(t, func(events.APIGatewayV2HTTPRequest) any {
		return events.APIGatewayV2HTTPResponse{
			StatusCode:        418,
			Headers:           map[string]string{"content-type": "application/grpc-web+proto"},
			MultiValueHeaders: map[string][]string{"x-multi": {"a", "b"}},
			Cookies:           []string{"s=1; Path=/"},
			Body:              base64.StdEncoding.EncodeToString([]byte{0x80, 1, 2}),
			IsBase64Encoded:   true,
		}
	})
	gw := newTestGateway(t, emu.URL)
	resp, err := http.Get(gw.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 418 || string(body) != "\x80\x01\x02" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if resp.Header.Get("Content-Type") != "application/grpc-web+proto" ||
		strings.Join(resp.Header.Values("X-Multi"), ",") != "a,b" || resp.Header.Get("Set-Cookie") != "s=1; Path=/" {
		t.Fatalf("headers %v", resp.Header)
	}
}

func TestFunctionErrorIs500(t *testing.T) {
	emu := newFakeEmulator(t, func(events.APIGatewayV2HTTPRequest) any {
		return map[string]string{"errorMessage": "boom", "errorType": "errorString"}
	})
	gw := newTestGateway(t, emu.URL)
	resp, err := http.Get(gw.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 500 || strings.TrimSpace(string(body)) != `{"message":"Internal Server Error"}` {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
}

func TestUnreachableEmulatorIs500AndIsReleased(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	gw := newTestGateway(t, dead.URL)
	for i := 0; i < 3; i++ { // the one emulator must come back to the pool after each failure
		resp, err := http.Get(gw.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 500 {
			t.Fatalf("attempt %d: got %d", i, resp.StatusCode)
		}
	}
}

func TestOneInvocationPerEmulatorAtATime(t *testing.T) {
	var busy, maxBusy atomic.Int32
	slow := func(events.APIGatewayV2HTTPRequest) any {
		n := busy.Add(1)
		for {
			m := maxBusy.Load()
			if n <= m || maxBusy.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond)
		busy.Add(-1)
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "ok"}
	}
	a, b := newFakeEmulator(t, slow), newFakeEmulator(t, slow)
	gw := newTestGateway(t, a.URL, b.URL)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(gw.URL + "/")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("got %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	if len(a.received)+len(b.received) != 8 {
		t.Fatalf("invocations: %d + %d", len(a.received), len(b.received))
	}
	if maxBusy.Load() > 2 {
		t.Fatalf("%d invocations ran at once on 2 emulators", maxBusy.Load())
	}
	if len(a.received) == 0 || len(b.received) == 0 {
		t.Fatal("one emulator got no work")
	}
}

func TestAllBusyPastQueueTimeoutIs429(t *testing.T) {
	release := make(chan struct{})
	emu := newFakeEmulator(t, func(events.APIGatewayV2HTTPRequest) any {
		<-release
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}
	})
	gw, err := NewGateway([]string{emu.URL}, 50*time.Millisecond, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	defer close(release)
	go func() {
		resp, err := http.Get(srv.URL + "/first")
		if err == nil {
			resp.Body.Close()
		}
	}()
	deadline := time.Now().Add(2 * time.Second)
	for len(gw.free) != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	resp, err := http.Get(srv.URL + "/second")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("got %d", resp.StatusCode)
	}
}

func TestOversizeRequestIs413(t *testing.T) {
	emu := newFakeEmulator(t, func(events.APIGatewayV2HTTPRequest) any { return nil })
	gw := newTestGateway(t, emu.URL)
	resp, err := http.Post(gw.URL+"/", "application/json", strings.NewReader(strings.Repeat("a", maxPayloadBytes+1)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || len(emu.received) != 0 {
		t.Fatalf("got %d, %d invocations", resp.StatusCode, len(emu.received))
	}
}

// TestAClientThatGoesAwayStillGetsItsInvocation: once the body has arrived, neither the wait for a free
// emulator nor the invocation follows the client's cancellation (contract, "Saturation").
func TestAClientThatGoesAwayStillGetsItsInvocation(t *testing.T) {
	release := make(chan struct{})
	var invoked atomic.Int32
	emu := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		invoked.Add(1)
		<-release
		_ = json.NewEncoder(w).Encode(events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "{}"})
	}))
	t.Cleanup(emu.Close)
	gw, err := NewGateway([]string{emu.URL}, 5*time.Second, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	post := func(ctx context.Context) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/events", strings.NewReader("{}")).WithContext(ctx)
		req.Header.Set("Content-Type", "application/json")
		gw.ServeHTTP(httptest.NewRecorder(), req)
	}
	first, second := make(chan struct{}), make(chan struct{})
	go func() { post(context.Background()); close(first) }() // takes the only emulator
	for deadline := time.Now().Add(2 * time.Second); invoked.Load() < 1 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	gone, cancel := context.WithCancel(context.Background())
	go func() { post(gone); close(second) }() // queued for the emulator
	time.Sleep(20 * time.Millisecond)
	cancel() // the second client goes away while it waits
	time.Sleep(20 * time.Millisecond)
	close(release)
	for _, done := range []chan struct{}{first, second} {
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			t.Fatal("a request did not finish")
		}
	}
	if n := invoked.Load(); n != 2 {
		t.Fatalf("%d invocations, want 2: the request of the client that went away was dropped", n)
	}
}
