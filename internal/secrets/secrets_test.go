package secrets

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// store is a secrets store whose answers are scripted per read: each read of a name takes the next
// answer of its script, the last one repeating.
type store struct {
	mu      sync.Mutex
	scripts map[string][]func(w http.ResponseWriter, r *http.Request)
	reads   map[string]int
}

func newStore(t *testing.T, scripts map[string][]func(w http.ResponseWriter, r *http.Request)) (*store, *httptest.Server) {
	s := &store{scripts: scripts, reads: map[string]int{}}
	server := httptest.NewServer(s)
	t.Cleanup(server.Close)
	return s, server
}

func (s *store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/secrets/")
	s.mu.Lock()
	script, ok := s.scripts[name]
	n := s.reads[name]
	s.reads[name]++
	s.mu.Unlock()
	if r.Method != http.MethodGet || !ok {
		http.NotFound(w, r)
		return
	}
	script[min(n, len(script)-1)](w, r)
}

func (s *store) readsOf(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[name]
}

func answer(value string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"name":"x","value":"`+value+`"}`)
	}
}

func status(code int) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
}

func body(text string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, text) }
}

func hang(d time.Duration) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(d):
			answer("late")(w, r)
		case <-r.Context().Done(): // the client gave up: do not hold the server's Close
		}
	}
}

// fastClient is the contract's client with short waits, so the tests run in milliseconds.
func fastClient(url string) *Client {
	c := NewClient(url + "/")
	c.attemptTimeout = 100 * time.Millisecond
	c.backoff = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond}
	return c
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestReadRetriesEveryKindOfFailedRead(t *testing.T) {
	s, server := newStore(t, map[string][]func(http.ResponseWriter, *http.Request){
		DBPassword: {status(500), body(`{"name":"db-password"}`), body(`{"value": 5}`), hang(time.Second), answer("pw")},
	})
	value, err := fastClient(server.URL).Read(context.Background(), DBPassword)
	if err != nil || value != "pw" {
		t.Fatalf("got %q, %v", value, err)
	}
	if n := s.readsOf(DBPassword); n != 5 {
		t.Fatalf("%d reads, want 5", n)
	}
}

func TestReadGivesUpAfterFiveAttemptsNamingTheSecret(t *testing.T) {
	s, server := newStore(t, map[string][]func(http.ResponseWriter, *http.Request){
		JWTSecretKey: {status(503), status(503), status(503), status(503), status(503), answer("too late")},
	})
	_, err := fastClient(server.URL).Read(context.Background(), JWTSecretKey)
	if err == nil || !strings.Contains(err.Error(), JWTSecretKey) || !strings.Contains(err.Error(), "5 attempts") {
		t.Fatalf("got %v", err)
	}
	if n := s.readsOf(JWTSecretKey); n != 5 {
		t.Fatalf("%d reads, want 5", n)
	}
}

func TestTheContractsBackoffAndAttemptTimeout(t *testing.T) {
	if AttemptTimeout != 2*time.Second || len(Backoff) != 4 || Backoff[0] != 100*time.Millisecond ||
		Backoff[1] != 200*time.Millisecond || Backoff[2] != 400*time.Millisecond || Backoff[3] != 800*time.Millisecond {
		t.Fatalf("AttemptTimeout %v, Backoff %v", AttemptTimeout, Backoff)
	}
	s, server := newStore(t, map[string][]func(http.ResponseWriter, *http.Request){DBPassword: {status(500)}})
	started := time.Now()
	_, err := NewClient(server.URL).Read(context.Background(), DBPassword)
	elapsed := time.Since(started)
	if err == nil || s.readsOf(DBPassword) != 5 || elapsed < 1500*time.Millisecond || elapsed > 3*time.Second {
		t.Fatalf("err %v, %d reads in %v; want 5 reads in 1.5 s of backoff", err, s.readsOf(DBPassword), elapsed)
	}
}

func TestAnAttemptIsCutAtItsTimeout(t *testing.T) {
	_, server := newStore(t, map[string][]func(http.ResponseWriter, *http.Request){DBPassword: {hang(2 * time.Second)}})
	started := time.Now()
	_, err := fastClient(server.URL).Read(context.Background(), DBPassword)
	if elapsed := time.Since(started); err == nil || elapsed > time.Second {
		t.Fatalf("err %v after %v; want a failure after 5 attempts of 100 ms", err, elapsed)
	}
}

func TestLoadFailsOnAnUnusableKeyWithoutQuotingIt(t *testing.T) {
	_, server := newStore(t, map[string][]func(http.ResponseWriter, *http.Request){
		DBPassword: {answer("pw")}, JWTSecretKey: {answer("short-key")},
	})
	_, err := Load(context.Background(), fastClient(server.URL), quiet,
		Spec{Name: DBPassword}, Spec{Name: JWTSecretKey, Check: CheckJWTKey})
	if err == nil || !strings.Contains(err.Error(), JWTSecretKey) || strings.Contains(err.Error(), "short-key") {
		t.Fatalf("got %v", err)
	}
}

func TestRefreshTakesNewValuesAndKeepsOldOnesOnFailure(t *testing.T) {
	key1, key2 := strings.Repeat("a", 32), strings.Repeat("b", 32)
	_, server := newStore(t, map[string][]func(http.ResponseWriter, *http.Request){
		DBPassword:   {answer("pw1"), answer("pw2"), status(500)},
		JWTSecretKey: {answer(key1), answer("short"), answer(key2)},
	})
	var warnings strings.Builder
	log := slog.New(slog.NewTextHandler(&warnings, nil))
	set, err := Load(context.Background(), fastClient(server.URL), log,
		Spec{Name: DBPassword}, Spec{Name: JWTSecretKey, Check: CheckJWTKey})
	if err != nil {
		t.Fatal(err)
	}
	password, key := set.Getter(DBPassword), set.Getter(JWTSecretKey)
	if password() != "pw1" || key() != key1 {
		t.Fatal("start-up values")
	}
	set.Refresh(context.Background()) // password read again; the short key is refused
	if password() != "pw2" || key() != key1 {
		t.Fatalf("after the first refresh: %q %q", password(), key())
	}
	set.Refresh(context.Background()) // the store fails for the password; the key is new
	if password() != "pw2" || key() != key2 {
		t.Fatalf("after the second refresh: %q %q", password(), key())
	}
	if got := warnings.String(); strings.Count(got, "level=WARN") != 2 || strings.Contains(got, "short") ||
		strings.Contains(got, "pw") {
		t.Fatalf("warnings: %s", got)
	}
}

func TestRefreshEveryRunsUntilCancelled(t *testing.T) {
	var reads atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := reads.Add(1)
		_, _ = io.WriteString(w, `{"name":"db-password","value":"pw`+string(rune('0'+n%10))+`"}`)
	}))
	t.Cleanup(server.Close)
	set, err := Load(context.Background(), fastClient(server.URL), quiet, Spec{Name: DBPassword})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { set.RefreshEvery(ctx, 10*time.Millisecond); close(done) }()
	deadline := time.Now().Add(2 * time.Second)
	for reads.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if reads.Load() < 4 || set.Get(DBPassword) == "pw1" {
		t.Fatalf("%d reads, value %q", reads.Load(), set.Get(DBPassword))
	}
}
