package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func get(t *testing.T, store *Store, path string) (int, map[string]any) {
	t.Helper()
	recorder := httptest.NewRecorder()
	store.ServeHTTP(recorder, httptest.NewRequest(http.MethodGet, path, nil))
	var body map[string]any
	if err := json.Unmarshal(recorder.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s: body %q is not JSON: %v", path, recorder.Body.String(), err)
	}
	return recorder.Code, body
}

func TestServesSecretsFromTheEnvironmentNames(t *testing.T) {
	secrets := secretsFromEnvironment([]string{"SECRET_DB_PASSWORD=pw", "SECRET_JWT_SECRET_KEY=k", "PATH=/bin", "SECRET_=x"})
	store := NewStore(secrets, Faults{}, 1)
	status, body := get(t, store, "/secrets/db-password")
	if status != 200 || body["name"] != "db-password" || body["value"] != "pw" {
		t.Fatalf("got %d %v", status, body)
	}
	if status, _ := get(t, store, "/secrets/jwt-secret-key"); status != 200 {
		t.Fatalf("jwt-secret-key: %d", status)
	}
	if status, _ := get(t, store, "/secrets/nope"); status != 404 {
		t.Fatalf("unknown secret: %d", status)
	}
	if len(secrets) != 2 {
		t.Fatalf("secrets %v", secrets)
	}
}

func TestInjectedFailuresFollowTheRate(t *testing.T) {
	store := NewStore(map[string]string{"a": "1"}, Faults{FailureRate: 0.3, TimeoutRate: 0.2}, 42)
	store.faults.Timeout = time.Millisecond
	const reads = 2000
	for i := 0; i < reads; i++ {
		get(t, store, "/secrets/a")
	}
	stats := store.stats
	if stats.Reads != reads || stats.Served+stats.Failures+stats.Timeouts != reads {
		t.Fatalf("stats do not add up: %+v", stats)
	}
	if stats.Failures < 500 || stats.Failures > 700 || stats.Timeouts < 320 || stats.Timeouts > 480 {
		t.Fatalf("rates off: %+v", stats)
	}
}

func TestHealthIsNeverFaulted(t *testing.T) {
	store := NewStore(nil, Faults{FailureRate: 1}, 1)
	for i := 0; i < 10; i++ {
		if status, _ := get(t, store, "/health"); status != 200 {
			t.Fatalf("health %d", status)
		}
	}
	if status, _ := get(t, store, "/secrets/x"); status != 500 {
		t.Fatalf("failure rate 1: %d", status)
	}
}

func TestTimeoutHangsThen504(t *testing.T) {
	store := NewStore(map[string]string{"a": "1"}, Faults{TimeoutRate: 1, Timeout: 50 * time.Millisecond}, 1)
	start := time.Now()
	status, _ := get(t, store, "/secrets/a")
	if status != 504 || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("status %d after %s", status, time.Since(start))
	}
}
