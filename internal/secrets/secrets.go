// Package secrets reads the database password and the JWT key from the lab's secrets store
// (contract/CONTRACT.md, "Secrets"): GET <SECRETS_URL>/secrets/<name> → 200 {"name", "value"}. Each read
// makes up to five attempts of at most two seconds; at start-up a secret that cannot be read stops the API,
// later a failed refresh keeps the value already held. Values are never logged.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/perflab/apilab/internal/config"
)

// Names of the secrets in the store.
const (
	DBPassword   = "db-password"
	JWTSecretKey = "jwt-secret-key"
)

// AttemptTimeout bounds one attempt: connecting, the answer and its body.
const AttemptTimeout = 2 * time.Second

// Backoff is the wait before the second, third, fourth and fifth attempt: five attempts in all.
var Backoff = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}

// maxAnswerBytes bounds the answer read from the store; a secret is a few hundred bytes.
const maxAnswerBytes = 1 << 20

// Client reads secrets from one store.
type Client struct {
	baseURL        string
	http           *http.Client
	attemptTimeout time.Duration
	backoff        []time.Duration
}

// NewClient returns a client of the store at baseURL (SECRETS_URL).
func NewClient(baseURL string) *Client {
	return &Client{
		baseURL:        strings.TrimRight(baseURL, "/"),
		http:           &http.Client{Timeout: AttemptTimeout},
		attemptTimeout: AttemptTimeout,
		backoff:        Backoff,
	}
}

// Read reads one secret with the contract's retries. The error names the secret and the last failure,
// never a value.
func (c *Client) Read(ctx context.Context, name string) (string, error) {
	var err error
	for attempt := 0; ; attempt++ {
		var value string
		if value, err = c.readOnce(ctx, name); err == nil {
			return value, nil
		}
		if attempt == len(c.backoff) {
			break
		}
		timer := time.NewTimer(c.backoff[attempt])
		select {
		case <-ctx.Done():
			timer.Stop()
			return "", fmt.Errorf("reading secret %s: %w (after %d attempts)", name, ctx.Err(), attempt+1)
		case <-timer.C:
		}
	}
	return "", fmt.Errorf("reading secret %s: %w (after %d attempts)", name, err, len(c.backoff)+1)
}

func (c *Client) readOnce(ctx context.Context, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.attemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+"/secrets/"+url.PathEscape(name), nil)
	if err != nil {
		return "", errors.New("SECRETS_URL is not a valid URL")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("the store answered HTTP %d", resp.StatusCode)
	}
	var answer struct {
		Value *string `json:"value"`
	}
	// The body is not quoted in the error: it may hold the value.
	if err := json.Unmarshal(body, &answer); err != nil || answer.Value == nil {
		return "", errors.New(`the store's answer is not a JSON object with a string "value"`)
	}
	return *answer.Value, nil
}

// Spec is one secret an API needs and what makes a value of it usable.
type Spec struct {
	Name string
	// Check rejects a value the API cannot use (nil: any value); its error must not quote the value.
	Check func(value string) error
}

// Set holds the current value of each secret an API needs, safe for concurrent use.
type Set struct {
	client *Client
	specs  []Spec
	values map[string]*atomic.Pointer[string]
	log    *slog.Logger
}

// Load reads every secret once, with retries. It fails on the first secret that cannot be read or is
// unusable, naming it.
func Load(ctx context.Context, client *Client, log *slog.Logger, specs ...Spec) (*Set, error) {
	set := &Set{client: client, specs: specs, values: make(map[string]*atomic.Pointer[string], len(specs)), log: log}
	for _, spec := range specs {
		value, err := set.read(ctx, spec)
		if err != nil {
			return nil, err
		}
		set.values[spec.Name] = &atomic.Pointer[string]{}
		set.values[spec.Name].Store(&value)
	}
	return set, nil
}

func (s *Set) read(ctx context.Context, spec Spec) (string, error) {
	value, err := s.client.Read(ctx, spec.Name)
	if err != nil {
		return "", err
	}
	if spec.Check != nil {
		if err := spec.Check(value); err != nil {
			return "", fmt.Errorf("secret %s: %w", spec.Name, err)
		}
	}
	return value, nil
}

// Get is the current value of a secret Load read; it panics for any other name (a programming error).
func (s *Set) Get(name string) string {
	return *s.values[name].Load()
}

// Getter returns a function that gives the current value of one secret.
func (s *Set) Getter(name string) func() string {
	value := s.values[name]
	if value == nil {
		panic("secrets: " + name + " was not loaded")
	}
	return func() string { return *value.Load() }
}

// Refresh reads every secret again. A secret that cannot be read, or whose new value is unusable, keeps
// its value, with a warning.
func (s *Set) Refresh(ctx context.Context) {
	for _, spec := range s.specs {
		value, err := s.read(ctx, spec)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("secret refresh failed; keeping the current value", "error", err)
			}
			continue
		}
		s.values[spec.Name].Store(&value)
	}
}

// RefreshEvery refreshes the secrets every interval (from the end of one refresh to the start of the
// next) until ctx is done.
func (s *Set) RefreshEvery(ctx context.Context, interval time.Duration) {
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		s.Refresh(ctx)
		timer.Reset(interval)
	}
}

// CheckJWTKey rejects a key shorter than config.MinJWTKeyBytes, as JWT_SECRET_KEY's rule does.
func CheckJWTKey(value string) error {
	if len(value) < config.MinJWTKeyBytes {
		return fmt.Errorf("the JWT key must be at least %d bytes, not %d", config.MinJWTKeyBytes, len(value))
	}
	return nil
}
