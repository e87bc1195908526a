package main

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// fakeRuntimeAPI answers the Runtime API ping with status and counts the pings.
func fakeRuntimeAPI(t *testing.T, status int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var pings atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != runtimePingPath || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		pings.Add(1)
		w.WriteHeader(status)
		_, _ = w.Write([]byte("pong"))
	}))
	t.Cleanup(srv.Close)
	return srv, &pings
}

// gatewayWithRuntimeAPIs is a gateway over the given emulators whose Runtime APIs are runtimeAPIs
// (test servers cannot sit on PORT+1 of the emulator, as in the containers).
func gatewayWithRuntimeAPIs(t *testing.T, emulators, runtimeAPIs []string) *httptest.Server {
	t.Helper()
	gw, err := NewGateway(emulators, time.Second, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	gw.runtimeAPIs = runtimeAPIs
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return srv
}

func deadURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	return url
}

func TestRuntimeAPIIsTheEmulatorPortPlusOne(t *testing.T) {
	got, err := RuntimeAPIFor("http://127.0.0.1:19100")
	if err != nil || got != "http://127.0.0.1:19101" {
		t.Fatalf("RuntimeAPIFor = %q, %v; want http://127.0.0.1:19101", got, err)
	}
	for _, bad := range []string{"http://127.0.0.1", "127.0.0.1:19100", "http://127.0.0.1:65535", "::"} {
		if _, err := RuntimeAPIFor(bad); err == nil {
			t.Errorf("RuntimeAPIFor(%q): want an error", bad)
		}
	}
	if _, err := NewGateway([]string{"http://127.0.0.1"}, time.Second, time.Second); err == nil {
		t.Error("NewGateway accepted an emulator URL without a port")
	}
}

func TestHealthIsOKWhenOneEmulatorPingsAndNeverInvokes(t *testing.T) {
	emu := newFakeEmulator(t, func(events.APIGatewayV2HTTPRequest) any {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "{}"}
	})
	live, pings := fakeRuntimeAPI(t, http.StatusOK)
	gw := gatewayWithRuntimeAPIs(t, []string{emu.URL, emu.URL}, []string{deadURL(t), live.URL})

	for _, method := range []string{http.MethodGet, http.MethodHead} {
		req, _ := http.NewRequest(method, gw.URL+HealthPath, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s = %d, want 200", method, HealthPath, resp.StatusCode)
		}
	}
	if pings.Load() == 0 {
		t.Error("the Runtime API was never pinged")
	}
	emu.mu.Lock()
	defer emu.mu.Unlock()
	if len(emu.received) != 0 {
		t.Errorf("the health check invoked the function %d time(s)", len(emu.received))
	}
}

func TestHealthIsUnavailableWhenNoEmulatorPings(t *testing.T) {
	emu := newFakeEmulator(t, func(events.APIGatewayV2HTTPRequest) any {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "{}"}
	})
	failing, _ := fakeRuntimeAPI(t, http.StatusInternalServerError)
	gw := gatewayWithRuntimeAPIs(t, []string{emu.URL, emu.URL}, []string{deadURL(t), failing.URL})

	started := time.Now()
	resp, err := http.Get(gw.URL + HealthPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("GET %s = %d, want 503", HealthPath, resp.StatusCode)
	}
	if elapsed := time.Since(started); elapsed > 3*time.Second {
		t.Errorf("health took %v; it must answer within its 2 s budget", elapsed)
	}
}

func TestOtherMethodsOnTheHealthPathReachTheFunction(t *testing.T) {
	emu := newFakeEmulator(t, func(events.APIGatewayV2HTTPRequest) any {
		return events.APIGatewayV2HTTPResponse{StatusCode: 201, Body: "{}"}
	})
	gw := gatewayWithRuntimeAPIs(t, []string{emu.URL}, []string{deadURL(t)})
	resp, err := http.Post(gw.URL+HealthPath, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s = %d, want the function's 201", HealthPath, resp.StatusCode)
	}
}
