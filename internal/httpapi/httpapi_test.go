package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/perflab/apilab/internal/auth"
	"github.com/perflab/apilab/internal/auth/authtest"
	"github.com/perflab/apilab/internal/event"
	"github.com/perflab/apilab/internal/store"
)

// FakeStore records what would be written; its answers are set per test.
type fakeStore struct {
	saved     []*event.Event
	stored    map[string]bool
	saveErr   error
	failAfter int // SaveEvent fails with saveErr once this many events were saved (0: always)
	pingErr   error
}

func (f *fakeStore) SaveEvent(_ context.Context, ev *event.Event) (bool, error) {
	if f.saveErr != nil && len(f.saved) >= f.failAfter {
		return false, f.saveErr
	}
	if f.stored == nil {
		f.stored = map[string]bool{}
	}
	if f.stored[ev.NormalizedUUID()] {
		return true, nil
	}
	f.stored[ev.NormalizedUUID()] = true
	f.saved = append(f.saved, ev)
	return false, nil
}

func (f *fakeStore) Ping(context.Context) error { return f.pingErr }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func eventJSON(uuid string) string {
	return fmt.Sprintf(`{"eventHeader":{"uuid":%q,"eventName":"CarCreated","eventType":"CarCreated"},
	  "eventBody":{"entities":[{"entityType":"Car","entityId":"c1","updatedAttributes":{"a":1}},
	                           {"entityType":"Car","entityId":"c2","updatedAttributes":{}}]}}`, uuid)
}

const uuid1 = "550E8400-E29B-41D4-A716-446655440001"

func asJSON(t *testing.T, r Response) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(r.JSON(), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPostEventProcessesThenReportsTheDuplicate(t *testing.T) {
	fake := &fakeStore{}
	service := New(fake, nil, 1<<20, quiet)
	first := service.PostEvent(context.Background(), []byte(eventJSON(uuid1)))
	if first.Status != 200 || string(first.JSON()) != `{"success":true,"message":"event processed","eventUuid":"550e8400-e29b-41d4-a716-446655440001","entityCount":2,"duplicate":false}` {
		t.Fatalf("first: %d %s", first.Status, first.JSON())
	}
	again := service.PostEvent(context.Background(), []byte(eventJSON(uuid1)))
	if again.Status != 200 || string(again.JSON()) != `{"success":true,"message":"duplicate event ignored","eventUuid":"550e8400-e29b-41d4-a716-446655440001","entityCount":2,"duplicate":true}` {
		t.Fatalf("again: %d %s", again.Status, again.JSON())
	}
}

func TestPostEventErrors(t *testing.T) {
	cases := []struct {
		name   string
		store  *fakeStore
		body   string
		status int
		json   string
	}{
		{"validation", &fakeStore{}, `{"eventHeader":1}`, 400, `{"error":"eventHeader must be an object","status":400}`},
		{"malformed", &fakeStore{}, `{`, 400, `{"error":"malformed JSON","status":400}`},
		{"too deep", &fakeStore{}, strings.Repeat("[", 65) + strings.Repeat("]", 65), 400, `{"error":"request body nests deeper than 64 levels","status":400}`},
		{"pathologically deep", &fakeStore{}, strings.Repeat("[", 200000) + strings.Repeat("]", 200000), 400, `{"error":"request body nests deeper than 64 levels","status":400}`},
		{"deep and malformed", &fakeStore{}, strings.Repeat("[", 200000), 400, `{"error":"malformed JSON","status":400}`},
		{"number of 101 characters", &fakeStore{}, strings.Replace(eventJSON(uuid1), `"a":1`, `"a":`+strings.Repeat("1", 101), 1), 400, `{"error":"event contains a number longer than 100 characters","status":400}`},
		{"value the database cannot store", &fakeStore{saveErr: fmt.Errorf("%w: numeric out of range", store.ErrUnstorable)}, eventJSON(uuid1), 400, `{"error":"event contains a value the database cannot store","status":400}`},
		{"database down", &fakeStore{saveErr: fmt.Errorf("%w: dial refused", store.ErrUnavailable)}, eventJSON(uuid1), 503, `{"error":"database unavailable","status":503}`},
		{"anything else", &fakeStore{saveErr: errors.New("relation \"events\" does not exist")}, eventJSON(uuid1), 500, `{"error":"internal error","status":500}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := New(c.store, nil, 1<<20, quiet).PostEvent(context.Background(), []byte(c.body))
			if got.Status != c.status || string(got.JSON()) != c.json {
				t.Fatalf("got %d %s", got.Status, got.JSON())
			}
			if len(c.store.saved) != 0 {
				t.Fatal("an error wrote something")
			}
		})
	}
}

func TestNumberOf100CharactersIsStoredAnd101RejectsAWholeBatch(t *testing.T) {
	fake := &fakeStore{}
	hundred := strings.Replace(eventJSON(uuid1), `"a":1`, `"a":`+strings.Repeat("1", 100), 1)
	if got := New(fake, nil, 1<<20, quiet).PostEvent(context.Background(), []byte(hundred)); got.Status != 200 || len(fake.saved) != 1 {
		t.Fatalf("100 characters: %d %s", got.Status, got.JSON())
	}
	long := strings.Replace(eventJSON("550e8400-e29b-41d4-a716-446655440002"), `"a":1`, `"a":`+strings.Repeat("1", 101), 1)
	got := New(fake, nil, 1<<20, quiet).PostBulk(context.Background(), []byte("["+eventJSON(uuid1)+","+long+"]"))
	if got.Status != 400 || string(got.JSON()) != `{"error":"event contains a number longer than 100 characters","status":400}` || len(fake.saved) != 1 {
		t.Fatalf("bulk: %d %s, saved %d", got.Status, got.JSON(), len(fake.saved))
	}
}

func TestAuthenticate(t *testing.T) {
	key := []byte(authtest.Key)
	valid := authtest.Token(t, authtest.Key, time.Now().Add(time.Hour))
	on := New(&fakeStore{}, auth.New(func() []byte { return key }, "", ""), 1<<20, quiet)
	cases := []struct {
		service       *Service
		authorization string
		ok            bool
		json          string
	}{
		{on, "Bearer " + valid, true, ""},
		{on, "", false, `{"error":"missing bearer token","status":401}`},
		{on, "Bearer " + valid + "x", false, `{"error":"invalid token","status":401}`},
		{New(&fakeStore{}, nil, 1<<20, quiet), "", true, ""}, // auth off
	}
	for _, c := range cases {
		resp, ok := c.service.Authenticate(c.authorization)
		if ok != c.ok || (!ok && (resp.Status != 401 || string(resp.JSON()) != c.json || resp.Headers["WWW-Authenticate"] != "Bearer")) {
			t.Errorf("%.20q: ok=%v %d %s %v", c.authorization, ok, resp.Status, resp.JSON(), resp.Headers)
		}
	}
}

func TestCheckPostOrderAndRules(t *testing.T) {
	service := New(&fakeStore{}, nil, 100, quiet)
	for _, ct := range []string{"application/json", "Application/JSON; charset=utf-8", " application/json ;charset=UTF-8"} {
		if _, ok := service.CheckPost(ct, 100); !ok {
			t.Errorf("%q refused", ct)
		}
	}
	for _, ct := range []string{"", "text/plain", "application/jsonx", "application/x-www-form-urlencoded", "application/json-patch+json"} {
		resp, ok := service.CheckPost(ct, 10)
		if ok || resp.Status != 415 || string(resp.JSON()) != `{"error":"unsupported content type: use application/json","status":415}` {
			t.Errorf("%q: ok=%v %d %s", ct, ok, resp.Status, resp.JSON())
		}
	}
	resp, ok := service.CheckPost("application/json", 101)
	if ok || resp.Status != 413 || string(resp.JSON()) != `{"error":"request body exceeds 100 bytes","status":413}` {
		t.Fatalf("too large: ok=%v %d %s", ok, resp.Status, resp.JSON())
	}
	if resp, _ := service.CheckPost("text/plain", 101); resp.Status != 415 {
		t.Fatalf("content type must be checked before size, got %d", resp.Status)
	}
}

func TestBulkCountsEveryItem(t *testing.T) {
	fake := &fakeStore{}
	service := New(fake, nil, 1<<20, quiet)
	service.PostEvent(context.Background(), []byte(eventJSON(uuid1)))
	body := "[" + strings.Join([]string{
		eventJSON(uuid1),     // duplicate
		`{"eventHeader":{}}`, // invalid
		eventJSON("550e8400-e29b-41d4-a716-446655440002"), // new
		`"x"`, // invalid
	}, ",") + "]"
	resp := service.PostBulk(context.Background(), []byte(body))
	got := asJSON(t, resp)
	if resp.Status != 200 || got["success"] != false || got["message"] != "batch processed" ||
		got["processedCount"] != 1.0 || got["duplicateCount"] != 1.0 || got["failedCount"] != 2.0 {
		t.Fatalf("got %d %s", resp.Status, resp.JSON())
	}
	wantErrors := `[{"index":1,"error":"eventHeader.uuid must be a UUID","status":400},{"index":3,"error":"request body must be a JSON object","status":400}]`
	if !strings.Contains(string(resp.JSON()), `"errors":`+wantErrors) {
		t.Fatalf("errors: %s", resp.JSON())
	}
	if id, _ := got["batchId"].(string); len(id) != 36 || id[14] != '4' {
		t.Fatalf("batchId %q is not a v4 uuid", id)
	}
	if _, ok := got["processingTimeMs"].(float64); !ok {
		t.Fatalf("processingTimeMs missing: %s", resp.JSON())
	}
}

func TestBulkAllGoodIsSuccessWithEmptyErrors(t *testing.T) {
	resp := New(&fakeStore{}, nil, 1<<20, quiet).PostBulk(context.Background(), []byte("["+eventJSON(uuid1)+"]"))
	got := asJSON(t, resp)
	if got["success"] != true || got["processedCount"] != 1.0 || !strings.Contains(string(resp.JSON()), `"errors":[]`) {
		t.Fatalf("got %s", resp.JSON())
	}
}

func TestBulkShapeAndDatabaseFailure(t *testing.T) {
	service := New(&fakeStore{}, nil, 1<<20, quiet)
	for _, body := range []string{`{}`, `[]`} {
		resp := service.PostBulk(context.Background(), []byte(body))
		if resp.Status != 400 || string(resp.JSON()) != `{"error":"request body must be a JSON array of 1 to 1000 events","status":400}` {
			t.Fatalf("%s: %d %s", body, resp.Status, resp.JSON())
		}
	}
	fake := &fakeStore{saveErr: store.ErrUnavailable, failAfter: 1}
	body := "[" + eventJSON(uuid1) + "," + eventJSON("550e8400-e29b-41d4-a716-446655440002") + "]"
	resp := New(fake, nil, 1<<20, quiet).PostBulk(context.Background(), []byte(body))
	if resp.Status != 503 || len(fake.saved) != 1 {
		t.Fatalf("got %d %s after %d saved", resp.Status, resp.JSON(), len(fake.saved))
	}
}

func TestBulkItemTheDatabaseCannotStoreFailsAlone(t *testing.T) {
	fake := &fakeStore{saveErr: fmt.Errorf("%w: numeric out of range", store.ErrUnstorable)}
	resp := New(fake, nil, 1<<20, quiet).PostBulk(context.Background(), []byte("["+eventJSON(uuid1)+"]"))
	got := asJSON(t, resp)
	if resp.Status != 200 || got["success"] != false || got["failedCount"] != 1.0 ||
		!strings.Contains(string(resp.JSON()), `"errors":[{"index":0,"error":"event contains a value the database cannot store","status":400}]`) {
		t.Fatalf("got %d %s", resp.Status, resp.JSON())
	}
}

func TestHealth(t *testing.T) {
	ok := New(&fakeStore{}, nil, 1, quiet).Health(context.Background())
	if ok.Status != 200 || string(ok.JSON()) != `{"status":"healthy"}` {
		t.Fatalf("got %d %s", ok.Status, ok.JSON())
	}
	down := New(&fakeStore{pingErr: store.ErrUnavailable}, nil, 1, quiet).Health(context.Background())
	if down.Status != 503 || string(down.JSON()) != `{"error":"database unavailable","status":503}` {
		t.Fatalf("got %d %s", down.Status, down.JSON())
	}
}
