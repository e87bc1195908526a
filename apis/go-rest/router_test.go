package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/perflab/apilab/internal/auth"
	"github.com/perflab/apilab/internal/auth/authtest"
	"github.com/perflab/apilab/internal/event"
	"github.com/perflab/apilab/internal/httpapi"
)

type fakeStore struct{ saved int }

func (f *fakeStore) SaveEvent(context.Context, *event.Event) (bool, error) {
	f.saved++
	return false, nil
}
func (f *fakeStore) Ping(context.Context) error { return nil }

const validEvent = `{"eventHeader":{"uuid":"550e8400-e29b-41d4-a716-446655440000","eventName":"A","eventType":"A"},
 "eventBody":{"entities":[{"entityType":"Car","entityId":"c","updatedAttributes":{}}]}}`

func serve(t *testing.T, maxBody int64, method, path, contentType, body string) (*httptest.ResponseRecorder, *fakeStore) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	fake := &fakeStore{}
	router := newRouter(httpapi.New(fake, nil, maxBody, log), log)
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, req)
	return rec, fake
}

func TestRoutesAndErrorsAreJSON(t *testing.T) {
	cases := []struct {
		name, method, path, contentType, body string
		status                                int
		want                                  string
	}{
		{"event", "POST", "/api/v1/events", "application/json", validEvent, 200, `"message":"event processed"`},
		{"charset allowed", "POST", "/api/v1/events", "APPLICATION/JSON; charset=utf-8", validEvent, 200, `"success":true`},
		{"bulk", "POST", "/api/v1/events/bulk", "application/json", "[" + validEvent + "]", 200, `"processedCount":1`},
		{"health", "GET", "/api/v1/events/health", "", "", 200, `{"status":"healthy"}`},
		{"wrong content type", "POST", "/api/v1/events", "text/plain", validEvent, 415, `{"error":"unsupported content type: use application/json","status":415}`},
		{"no content type", "POST", "/api/v1/events/bulk", "", "[]", 415, `{"error":"unsupported content type: use application/json","status":415}`},
		{"unknown path", "GET", "/nope", "", "", 404, `{"error":"not found","status":404}`},
		{"trailing slash is unknown", "POST", "/api/v1/events/", "application/json", validEvent, 404, `{"error":"not found","status":404}`},
		{"wrong method", "GET", "/api/v1/events", "", "", 405, `{"error":"method not allowed","status":405}`},
		{"wrong method on health", "POST", "/api/v1/events/health", "application/json", "{}", 405, `{"error":"method not allowed","status":405}`},
		{"validation", "POST", "/api/v1/events", "application/json", `[]`, 400, `{"error":"request body must be a JSON object","status":400}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, _ := serve(t, 1<<20, c.method, c.path, c.contentType, c.body)
			if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.want) {
				t.Fatalf("got %d %s, want %d %s", rec.Code, rec.Body.String(), c.status, c.want)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
}

func TestBodyLimitIsExactAndWritesNothing(t *testing.T) {
	limit := int64(len(validEvent))
	rec, fake := serve(t, limit, "POST", "/api/v1/events", "application/json", validEvent)
	if rec.Code != 200 || fake.saved != 1 {
		t.Fatalf("a body of exactly MAX_BODY_BYTES: %d %s", rec.Code, rec.Body.String())
	}
	rec, fake = serve(t, limit-1, "POST", "/api/v1/events", "application/json", validEvent)
	want := `{"error":"request body exceeds ` + strconv.FormatInt(limit-1, 10) + ` bytes","status":413}`
	if rec.Code != http.StatusRequestEntityTooLarge || rec.Body.String() != want || fake.saved != 0 {
		t.Fatalf("got %d %s (saved %d), want 413 %s", rec.Code, rec.Body.String(), fake.saved, want)
	}
}

func TestBodyLimitHoldsWithoutContentLength(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	router := newRouter(httpapi.New(&fakeStore{}, nil, 10, log), log)
	req := httptest.NewRequest("POST", "/api/v1/events", io.MultiReader(strings.NewReader(validEvent)))
	req.ContentLength = -1 // chunked: the size is only known while reading
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Fatalf("got %d %s", rec.Code, rec.Body.String())
	}
}

// readRecorder is a request body that records whether anyone read it.
type readRecorder struct {
	io.Reader
	read bool
}

func (r *readRecorder) Read(p []byte) (int, error) {
	r.read = true
	return r.Reader.Read(p)
}

func TestAuthComesFirstAndReadsNoBody(t *testing.T) {
	valid := "Bearer " + authtest.Token(t, authtest.Key, time.Now().Add(time.Hour))
	cases := []struct {
		name, method, path, contentType, authorization string
		bodySize                                       int
		status                                         int
		want                                           string
	}{
		{"no token", "POST", "/api/v1/events", "application/json", "", len(validEvent), 401, `{"error":"missing bearer token","status":401}`},
		{"another scheme", "POST", "/api/v1/events/bulk", "application/json", "Basic dTpw", len(validEvent), 401, `{"error":"missing bearer token","status":401}`},
		{"bad token", "POST", "/api/v1/events", "application/json", "Bearer x.y.z", len(validEvent), 401, `{"error":"invalid token","status":401}`},
		{"expired", "POST", "/api/v1/events", "application/json", "Bearer " + authtest.Token(t, authtest.Key, time.Now().Add(-time.Minute)), len(validEvent), 401, `{"error":"invalid token","status":401}`},
		{"other key", "POST", "/api/v1/events", "application/json", "Bearer " + authtest.Token(t, strings.Repeat("x", 32), time.Now().Add(time.Hour)), len(validEvent), 401, `{"error":"invalid token","status":401}`},
		{"before the content type", "POST", "/api/v1/events", "text/plain", "", len(validEvent), 401, `"missing bearer token"`},
		{"before the size", "POST", "/api/v1/events", "application/json", "", 10 << 20, 401, `"missing bearer token"`},
		{"valid", "POST", "/api/v1/events", "application/json", valid, len(validEvent), 200, `"event processed"`},
		{"valid, then the content type", "POST", "/api/v1/events", "text/plain", valid, len(validEvent), 415, `unsupported content type`},
		{"health stays open", "GET", "/api/v1/events/health", "", "", 0, 200, `{"status":"healthy"}`},
		{"unknown path as without auth", "POST", "/api/v1/other", "application/json", "", 0, 404, `"not found"`},
		{"wrong method as without auth", "GET", "/api/v1/events", "", "", 0, 405, `"method not allowed"`},
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := &fakeStore{}
			tokens := auth.New(func() []byte { return []byte(authtest.Key) }, "", "")
			router := newRouter(httpapi.New(fake, tokens, 1<<20, log), log)
			content := validEvent
			if c.bodySize > len(validEvent) {
				content = validEvent + strings.Repeat(" ", c.bodySize-len(validEvent))
			}
			body := &readRecorder{Reader: strings.NewReader(content)}
			req := httptest.NewRequest(c.method, c.path, body)
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			if c.authorization != "" {
				req.Header.Set("Authorization", c.authorization)
			}
			rec := httptest.NewRecorder()
			router.ServeHTTP(rec, req)
			if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.want) {
				t.Fatalf("got %d %s, want %d %s", rec.Code, rec.Body.String(), c.status, c.want)
			}
			if challenge := rec.Header().Get("WWW-Authenticate"); (c.status == 401) != (challenge == "Bearer") {
				t.Fatalf("WWW-Authenticate %q with status %d", challenge, rec.Code)
			}
			if c.status == 401 && (body.read || fake.saved != 0) {
				t.Fatalf("a request that failed authentication was read (%v) or written (%d)", body.read, fake.saved)
			}
		})
	}
}
