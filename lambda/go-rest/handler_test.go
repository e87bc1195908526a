package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/perflab/apilab/internal/auth"
	"github.com/perflab/apilab/internal/auth/authtest"
	"github.com/perflab/apilab/internal/event"
	"github.com/perflab/apilab/internal/httpapi"
	"github.com/perflab/apilab/internal/store"
)

// fakeStore records saved events; stored uuids answer duplicate, down answers unavailable.
type fakeStore struct {
	saved      map[string]*event.Event
	down       bool
	unstorable bool // the database rejects the event's values as data
}

func (f *fakeStore) SaveEvent(_ context.Context, ev *event.Event) (bool, error) {
	if f.down {
		return false, fmt.Errorf("%w: connection refused", store.ErrUnavailable)
	}
	if f.unstorable {
		return false, fmt.Errorf("%w: numeric field overflow", store.ErrUnstorable)
	}
	if _, ok := f.saved[ev.NormalizedUUID()]; ok {
		return true, nil
	}
	f.saved[ev.NormalizedUUID()] = ev
	return false, nil
}

func (f *fakeStore) Ping(context.Context) error {
	if f.down {
		return fmt.Errorf("%w: connection refused", store.ErrUnavailable)
	}
	return nil
}

const maxBody = 2048

func newTestHandler() (*Handler, *fakeStore) {
	st := &fakeStore{saved: map[string]*event.Event{}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return NewHandler(httpapi.New(st, nil, maxBody, log)), st
}

func request(method, path, contentType, body string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, Body: body,
		Headers: map[string]string{},
	}
	if contentType != "" {
		req.Headers["content-type"] = contentType
	}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.HTTP.Path = path
	return req
}

const validEvent = `{"eventHeader":{"uuid":"550E8400-E29B-41D4-A716-446655440000","eventName":"LoanPaymentSubmitted",
"eventType":"LoanPaymentSubmitted","createdDate":"2024-01-15T10:30:00Z"},
"eventBody":{"entities":[{"entityType":"Loan","entityId":"loan-1","updatedAttributes":{"balance":24439.75}}]}}`

func invoke(t *testing.T, h *Handler, req events.APIGatewayV2HTTPRequest) (int, map[string]any) {
	t.Helper()
	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("invocation failed: %v", err)
	}
	if resp.Headers["content-type"] != "application/json" || resp.IsBase64Encoded {
		t.Fatalf("response headers %v, base64 %v", resp.Headers, resp.IsBase64Encoded)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", resp.Body, err)
	}
	return resp.StatusCode, body
}

func wantError(t *testing.T, status int, body map[string]any, wantStatus int, message string) {
	t.Helper()
	if status != wantStatus || body["error"] != message || body["status"] != float64(wantStatus) || len(body) != 2 {
		t.Fatalf("got %d %v; want %d %q", status, body, wantStatus, message)
	}
}

func TestPostEventProcessedThenDuplicate(t *testing.T) {
	h, st := newTestHandler()
	status, body := invoke(t, h, request("POST", "/api/v1/events", "application/json", validEvent))
	if status != 200 || body["success"] != true || body["message"] != "event processed" ||
		body["eventUuid"] != "550e8400-e29b-41d4-a716-446655440000" || body["entityCount"] != float64(1) ||
		body["duplicate"] != false {
		t.Fatalf("got %d %v", status, body)
	}
	if len(st.saved) != 1 {
		t.Fatalf("saved %d events", len(st.saved))
	}
	status, body = invoke(t, h, request("POST", "/api/v1/events", "application/json; charset=utf-8", validEvent))
	if status != 200 || body["message"] != "duplicate event ignored" || body["duplicate"] != true {
		t.Fatalf("got %d %v", status, body)
	}
}

func TestBase64BodyIsDecoded(t *testing.T) {
	h, st := newTestHandler()
	req := request("POST", "/api/v1/events", "application/json", base64.StdEncoding.EncodeToString([]byte(validEvent)))
	req.IsBase64Encoded = true
	if status, body := invoke(t, h, req); status != 200 || len(st.saved) != 1 {
		t.Fatalf("got %d %v", status, body)
	}
	// The decoded bytes are what gets parsed.
	req = request("POST", "/api/v1/events", "application/json", base64.StdEncoding.EncodeToString([]byte(`{"eventHeader": `)))
	req.IsBase64Encoded = true
	status, body := invoke(t, h, req)
	wantError(t, status, body, 400, "malformed JSON")
}

func TestValidationErrorIs400WithRuleMessage(t *testing.T) {
	h, st := newTestHandler()
	bad := strings.Replace(validEvent, `"entityType":"Loan"`, `"entityType":"9Loan"`, 1)
	status, body := invoke(t, h, request("POST", "/api/v1/events", "application/json", bad))
	wantError(t, status, body, 400,
		"eventBody.entities[0].entityType must be a name: a letter, then letters or digits, at most 64 characters")
	status, body = invoke(t, h, request("POST", "/api/v1/events", "application/json", ""))
	wantError(t, status, body, 400, "malformed JSON")
	if len(st.saved) != 0 {
		t.Fatal("an invalid event was saved")
	}
}

func TestNestingAndUnstorableValuesAre400(t *testing.T) {
	h, st := newTestHandler()
	deep := strings.Repeat("[", 600) + strings.Repeat("]", 600)
	status, body := invoke(t, h, request("POST", "/api/v1/events", "application/json", deep))
	wantError(t, status, body, 400, "request body nests deeper than 64 levels")
	st.unstorable = true
	status, body = invoke(t, h, request("POST", "/api/v1/events", "application/json", validEvent))
	wantError(t, status, body, 400, "event contains a value the database cannot store")
	if len(st.saved) != 0 {
		t.Fatal("an event was saved")
	}
}

func TestContentTypeBeforeSize(t *testing.T) {
	h, _ := newTestHandler()
	huge := strings.Repeat("x", maxBody+1)
	status, body := invoke(t, h, request("POST", "/api/v1/events", "text/plain", huge))
	wantError(t, status, body, 415, "unsupported content type: use application/json")
	status, body = invoke(t, h, request("POST", "/api/v1/events", "", validEvent))
	wantError(t, status, body, 415, "unsupported content type: use application/json")
	status, body = invoke(t, h, request("POST", "/api/v1/events", "application/json", huge))
	wantError(t, status, body, 413, fmt.Sprintf("request body exceeds %d bytes", maxBody))
}

func TestRoutes(t *testing.T) {
	h, _ := newTestHandler()
	cases := []struct {
		method, path string
		status       int
		message      string
	}{
		{"GET", "/", 404, "not found"},
		{"GET", "/api/v1/nothing-here", 404, "not found"},
		{"POST", "/api/v1/event", 404, "not found"},
		{"GET", "/api/v1/events", 405, "method not allowed"},
		{"DELETE", "/api/v1/events", 405, "method not allowed"},
		{"GET", "/api/v1/events/bulk", 405, "method not allowed"},
		{"POST", "/api/v1/events/health", 405, "method not allowed"},
	}
	for _, c := range cases {
		status, body := invoke(t, h, request(c.method, c.path, "application/json", "{}"))
		wantError(t, status, body, c.status, c.message)
	}
}

func TestHealth(t *testing.T) {
	h, st := newTestHandler()
	status, body := invoke(t, h, request("GET", "/api/v1/events/health", "", ""))
	if status != 200 || body["status"] != "healthy" || len(body) != 1 {
		t.Fatalf("got %d %v", status, body)
	}
	st.down = true
	status, body = invoke(t, h, request("GET", "/api/v1/events/health", "", ""))
	wantError(t, status, body, 503, "database unavailable")
	status, body = invoke(t, h, request("POST", "/api/v1/events", "application/json", validEvent))
	wantError(t, status, body, 503, "database unavailable")
}

func TestBulk(t *testing.T) {
	h, st := newTestHandler()
	bad := strings.Replace(validEvent, `"550E8400-E29B-41D4-A716-446655440000"`, `"nope"`, 1)
	second := strings.Replace(validEvent, "550E8400", "650E8400", 1)
	batch := "[" + validEvent + "," + bad + "," + validEvent + "," + second + "]"
	status, body := invoke(t, h, request("POST", "/api/v1/events/bulk", "application/json", batch))
	if status != 200 || body["success"] != false || body["processedCount"] != float64(2) ||
		body["duplicateCount"] != float64(1) || body["failedCount"] != float64(1) {
		t.Fatalf("got %d %v", status, body)
	}
	errs := body["errors"].([]any)
	if len(errs) != 1 || errs[0].(map[string]any)["index"] != float64(1) ||
		errs[0].(map[string]any)["error"] != "eventHeader.uuid must be a UUID" {
		t.Fatalf("errors %v", errs)
	}
	if len(st.saved) != 2 {
		t.Fatalf("saved %d", len(st.saved))
	}
	status, body = invoke(t, h, request("POST", "/api/v1/events/bulk", "application/json", "[]"))
	wantError(t, status, body, 400, "request body must be a JSON array of 1 to 1000 events")
}

func TestAuthComesFirstAndHealthStaysOpen(t *testing.T) {
	key := []byte(authtest.Key)
	valid := authtest.Token(t, authtest.Key, time.Now().Add(time.Hour))
	st := &fakeStore{saved: map[string]*event.Event{}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := NewHandler(httpapi.New(st, auth.New(func() []byte { return key }, "", ""), maxBody, log))
	huge := strings.Repeat("x", maxBody+1)
	for _, req := range []events.APIGatewayV2HTTPRequest{
		request("POST", "/api/v1/events", "application/json", validEvent),
		request("POST", "/api/v1/events/bulk", "application/json", "["+validEvent+"]"),
		request("POST", "/api/v1/events", "text/plain", huge), // before the content type and the size
	} {
		resp, _ := h.Handle(context.Background(), req)
		if resp.StatusCode != 401 || resp.Body != `{"error":"missing bearer token","status":401}` ||
			resp.Headers["www-authenticate"] != "Bearer" {
			t.Fatalf("got %+v", resp)
		}
	}
	bad := request("POST", "/api/v1/events", "application/json", validEvent)
	bad.Headers["authorization"] = "Bearer " + valid[:len(valid)-2]
	if resp, _ := h.Handle(context.Background(), bad); resp.StatusCode != 401 || resp.Body != `{"error":"invalid token","status":401}` {
		t.Fatalf("got %+v", resp)
	}
	if len(st.saved) != 0 {
		t.Fatal("an unauthenticated request wrote")
	}
	good := request("POST", "/api/v1/events", "application/json", validEvent)
	good.Headers["Authorization"] = "bearer " + valid // a direct invocation may not lower-case names
	if status, body := invoke(t, h, good); status != 200 || body["success"] != true {
		t.Fatalf("got %d %v", status, body)
	}
	if status, body := invoke(t, h, request("GET", "/api/v1/events/health", "", "")); status != 200 || body["status"] != "healthy" {
		t.Fatalf("health: %d %v", status, body)
	}
	status, body := invoke(t, h, request("GET", "/api/v1/events", "", ""))
	wantError(t, status, body, 405, "method not allowed")
}

func TestLongNumberRejectsTheWholeBatch(t *testing.T) {
	h, st := newTestHandler()
	long := strings.Replace(validEvent, "24439.75", strings.Repeat("9", 101), 1)
	status, body := invoke(t, h, request("POST", "/api/v1/events/bulk", "application/json", "["+validEvent+","+long+"]"))
	wantError(t, status, body, 400, "event contains a number longer than 100 characters")
	if len(st.saved) != 0 {
		t.Fatal("a batch with a long number wrote")
	}
}
