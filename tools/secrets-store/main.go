// Command secrets-store is the local stack's secrets store for the auth+secrets profile: the protocol of
// the original lab's mock secrets service (GET /secrets/<name> → {"name", "value"}), with its fault
// injection (delay, failure rate, timeout rate), so the APIs' start-up and refresh paths are measured
// against a store that is slow or failing on purpose. On AWS the same role is AWS Secrets Manager's.
//
// Environment:
//
//	SECRETS_LISTEN                 address, default 127.0.0.1:8200
//	SECRET_<NAME>                  the value of secret <name> (upper case, '-' as '_'): SECRET_DB_PASSWORD
//	SECRETS_SERVICE_DELAY_MS       added to every secret read, default 0
//	SECRETS_SERVICE_FAILURE_RATE   0..1: share of reads answered 500, default 0
//	SECRETS_SERVICE_TIMEOUT_RATE   0..1: share of reads that hang for SECRETS_SERVICE_TIMEOUT_MS, then 504
//	SECRETS_SERVICE_TIMEOUT_MS     default 10000 (longer than any client's 2 s attempt)
//	SECRETS_SERVICE_SEED           seed of the fault draws (default: random)
//
// GET /health is never delayed nor failed; GET /stats counts reads by outcome.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Faults is what the store injects into secret reads.
type Faults struct {
	Delay       time.Duration
	FailureRate float64
	TimeoutRate float64
	Timeout     time.Duration
}

// Stats counts secret reads by outcome.
type Stats struct {
	Reads    int `json:"reads"`
	Served   int `json:"served"`
	Failures int `json:"failures"`
	Timeouts int `json:"timeouts"`
	NotFound int `json:"notFound"`
}

// Store serves secrets with injected faults.
type Store struct {
	secrets map[string]string
	faults  Faults
	mu      sync.Mutex
	rng     *rand.Rand
	stats   Stats
}

// NewStore serves these secrets with these faults; seed fixes the fault draws.
func NewStore(secrets map[string]string, faults Faults, seed uint64) *Store {
	return &Store{secrets: secrets, faults: faults, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// outcome draws a read's fate: "fail", "timeout" or "" (served), and counts it.
func (s *Store) outcome() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Reads++
	draw := s.rng.Float64()
	switch {
	case draw < s.faults.FailureRate:
		s.stats.Failures++
		return "fail"
	case draw < s.faults.FailureRate+s.faults.TimeoutRate:
		s.stats.Timeouts++
		return "timeout"
	}
	return ""
}

func (s *Store) count(field *int) {
	s.mu.Lock()
	*field++
	s.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/health":
		writeJSON(w, http.StatusOK, map[string]string{"status": "healthy"})
	case r.URL.Path == "/stats":
		s.mu.Lock()
		stats := s.stats
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, stats)
	case strings.HasPrefix(r.URL.Path, "/secrets/"):
		if r.Method != http.MethodGet {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "method not allowed", "status": 405})
			return
		}
		s.read(w, r, strings.TrimPrefix(r.URL.Path, "/secrets/"))
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "not found", "status": 404})
	}
}

func (s *Store) read(w http.ResponseWriter, r *http.Request, name string) {
	sleep(r.Context(), s.faults.Delay)
	switch s.outcome() {
	case "fail":
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "injected failure", "status": 500})
		return
	case "timeout":
		sleep(r.Context(), s.faults.Timeout)
		writeJSON(w, http.StatusGatewayTimeout, map[string]any{"error": "injected timeout", "status": 504})
		return
	}
	value, ok := s.secrets[name]
	if !ok {
		s.count(&s.stats.NotFound)
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "no such secret", "status": 404})
		return
	}
	s.count(&s.stats.Served)
	writeJSON(w, http.StatusOK, map[string]string{"name": name, "value": value})
}

// secretsFromEnvironment: SECRET_DB_PASSWORD=x → "db-password": x.
func secretsFromEnvironment(environ []string) map[string]string {
	secrets := map[string]string{}
	for _, entry := range environ {
		key, value, ok := strings.Cut(entry, "=")
		if !ok || !strings.HasPrefix(key, "SECRET_") || len(key) == len("SECRET_") {
			continue
		}
		name := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(key, "SECRET_"), "_", "-"))
		secrets[name] = value
	}
	return secrets
}

func rate(name string) (float64, error) {
	text := os.Getenv(name)
	if text == "" {
		return 0, nil
	}
	value, err := strconv.ParseFloat(text, 64)
	if err != nil || value < 0 || value > 1 {
		return 0, fmt.Errorf("%s must be a number from 0 to 1, not %q", name, text)
	}
	return value, nil
}

func milliseconds(name string, fallback int) (time.Duration, error) {
	text := os.Getenv(name)
	if text == "" {
		return time.Duration(fallback) * time.Millisecond, nil
	}
	value, err := strconv.Atoi(text)
	if err != nil || value < 0 {
		return 0, fmt.Errorf("%s must be a whole number of milliseconds, not %q", name, text)
	}
	return time.Duration(value) * time.Millisecond, nil
}

func faultsFromEnvironment() (Faults, error) {
	var f Faults
	var err error
	if f.Delay, err = milliseconds("SECRETS_SERVICE_DELAY_MS", 0); err != nil {
		return f, err
	}
	if f.Timeout, err = milliseconds("SECRETS_SERVICE_TIMEOUT_MS", 10000); err != nil {
		return f, err
	}
	if f.FailureRate, err = rate("SECRETS_SERVICE_FAILURE_RATE"); err != nil {
		return f, err
	}
	if f.TimeoutRate, err = rate("SECRETS_SERVICE_TIMEOUT_RATE"); err != nil {
		return f, err
	}
	if f.FailureRate+f.TimeoutRate > 1 {
		return f, errors.New("SECRETS_SERVICE_FAILURE_RATE + SECRETS_SERVICE_TIMEOUT_RATE must not exceed 1")
	}
	return f, nil
}

func main() {
	faults, err := faultsFromEnvironment()
	if err != nil {
		fmt.Fprintln(os.Stderr, "secrets-store:", err)
		os.Exit(2)
	}
	seed := rand.Uint64()
	if text := os.Getenv("SECRETS_SERVICE_SEED"); text != "" {
		if seed, err = strconv.ParseUint(text, 10, 64); err != nil {
			fmt.Fprintf(os.Stderr, "secrets-store: SECRETS_SERVICE_SEED must be a whole number, not %q\n", text)
			os.Exit(2)
		}
	}
	listen := os.Getenv("SECRETS_LISTEN")
	if listen == "" {
		listen = "127.0.0.1:8200"
	}
	store := NewStore(secretsFromEnvironment(os.Environ()), faults, seed)
	server := &http.Server{Addr: listen, Handler: store, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()
	fmt.Fprintf(os.Stderr, "secrets-store: %d secrets on %s (delay %s, failure rate %g, timeout rate %g)\n",
		len(store.secrets), listen, faults.Delay, faults.FailureRate, faults.TimeoutRate)
	if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "secrets-store:", err)
		os.Exit(1)
	}
}
