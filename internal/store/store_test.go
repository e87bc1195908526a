package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/perflab/apilab/internal/config"
	"github.com/perflab/apilab/internal/event"
)

// These tests write to the database of TEST_DATABASE_URL (schema applied, see db/schema.sql). They use
// fresh uuids and entity ids, so they can share a database with other runs.
func openTestStore(t *testing.T) (*Store, *pgx.Conn) {
	t.Helper()
	return openTestStoreWith(t, config.Config{DBPoolMax: 4})
}

// openTestStoreWith opens a store with cfg on TEST_DATABASE_URL, plus a plain connection for checking
// what the store wrote; both close when the test ends.
func openTestStoreWith(t *testing.T, cfg config.Config) (*Store, *pgx.Conn) {
	t.Helper()
	url := os.Getenv("TEST_DATABASE_URL")
	if url == "" {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	cfg.DatabaseURL = url
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return s, conn
}

func parse(t *testing.T, body string) *event.Event {
	t.Helper()
	ev, err := event.ParseJSON([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func entityData(t *testing.T, conn *pgx.Conn, entityType, id string) string {
	t.Helper()
	var data string
	if err := conn.QueryRow(context.Background(),
		`SELECT data::text FROM entities WHERE entity_type = $1 AND entity_id = $2`, entityType, id).Scan(&data); err != nil {
		t.Fatal(err)
	}
	return data
}

func TestSaveMergesEntitiesAndIgnoresDuplicates(t *testing.T) {
	s, conn := openTestStore(t)
	ctx := context.Background()
	id := "loan-" + uuid.NewString()
	first := parse(t, `{"eventHeader":{"uuid":"`+uuid.NewString()+`","eventName":"A","eventType":"A",
	  "createdDate":"2024-01-15T10:30:00+15:59","savedDate":"0001-01-01T00:00:00Z"},
	  "eventBody":{"entities":[{"entityType":"Loan","entityId":"`+id+`","updatedAttributes":{"a":1,"b":2.50}},
	                           {"entityType":"Loan","entityId":"`+id+`","updatedAttributes":{"b":12345678901234567890.5}}]}}`)
	if dup, err := s.SaveEvent(ctx, first); err != nil || dup {
		t.Fatalf("first save: %v %v", dup, err)
	}
	if got := entityData(t, conn, "Loan", id); got != `{"a": 1, "b": 12345678901234567890.5}` {
		t.Fatalf("the later update of one entity must win: %s", got)
	}
	var created, saved time.Time
	var payload string
	if err := conn.QueryRow(ctx, `SELECT created_date, saved_date, payload::text FROM events WHERE uuid = $1`,
		first.UUID).Scan(&created, &saved, &payload); err != nil {
		t.Fatal(err)
	}
	if !created.Equal(time.Date(2024, 1, 14, 18, 31, 0, 0, time.UTC)) || !saved.Equal(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("dates %v %v", created, saved)
	}

	second := parse(t, `{"eventHeader":{"uuid":"`+uuid.NewString()+`","eventName":"A","eventType":"A"},
	  "eventBody":{"entities":[{"entityType":"Loan","entityId":"`+id+`","updatedAttributes":{"a":{"n":true},"c":"x"}}]}}`)
	if dup, err := s.SaveEvent(ctx, second); err != nil || dup {
		t.Fatalf("second save: %v %v", dup, err)
	}
	if got := entityData(t, conn, "Loan", id); got != `{"a": {"n": true}, "b": 12345678901234567890.5, "c": "x"}` {
		t.Fatalf("top-level merge: %s", got)
	}

	// A duplicate uuid writes nothing at all, even for a different body.
	again := parse(t, `{"eventHeader":{"uuid":"`+first.UUID+`","eventName":"B","eventType":"B"},
	  "eventBody":{"entities":[{"entityType":"Loan","entityId":"`+id+`","updatedAttributes":{"z":0}}]}}`)
	if dup, err := s.SaveEvent(ctx, again); err != nil || !dup {
		t.Fatalf("duplicate save: %v %v", dup, err)
	}
	if got := entityData(t, conn, "Loan", id); got != `{"a": {"n": true}, "b": 12345678901234567890.5, "c": "x"}` {
		t.Fatalf("a duplicate changed the entity: %s", got)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestAValueTheDatabaseCannotStoreRollsBack(t *testing.T) {
	s, conn := openTestStore(t)
	ctx := context.Background()
	id := "loan-" + uuid.NewString()
	ev := parse(t, `{"eventHeader":{"uuid":"`+uuid.NewString()+`","eventName":"A","eventType":"A"},
	  "eventBody":{"entities":[{"entityType":"Loan","entityId":"`+id+`","updatedAttributes":{"balance":1e131072}}]}}`)
	if _, err := s.SaveEvent(ctx, ev); !errors.Is(err, ErrUnstorable) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("save: %v", err)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM events WHERE uuid = $1) + (SELECT count(*) FROM entities WHERE entity_id = $2)`,
		ev.UUID, id).Scan(&n); err != nil || n != 0 {
		t.Fatalf("written: %d %v", n, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		code                    string
		unavailable, unstorable bool
	}{
		{"22003", false, true}, // numeric value out of range
		{"22P02", false, true}, // invalid text representation
		{"54000", false, true}, // program limit exceeded
		{"08006", true, false}, // connection failure
		{"53300", true, false}, // too many connections
		{"57P01", true, false}, // admin shutdown
		{"23505", false, false},
		{"42P01", false, false},
	}
	for _, c := range cases {
		err := Classify(fmt.Errorf("exec: %w", &pgconn.PgError{Code: c.code}))
		if errors.Is(err, ErrUnavailable) != c.unavailable || errors.Is(err, ErrUnstorable) != c.unstorable {
			t.Errorf("%s: %v", c.code, err)
		}
		if again := Classify(err); again != err {
			t.Errorf("%s: classified twice: %v", c.code, again)
		}
	}
	if Classify(nil) != nil {
		t.Error("nil")
	}
}

func TestUnreachableDatabaseIsUnavailable(t *testing.T) {
	s, err := Open(context.Background(), config.Config{DatabaseURL: "postgres://u:p@127.0.0.1:1/db?connect_timeout=1", DBPoolMax: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("ping: %v", err)
	}
	ev := &event.Event{UUID: uuid.NewString(), EventName: "A", EventType: "A",
		Entities: []event.Entity{{Type: "Car", ID: "c", Attributes: []byte(`{}`)}}}
	if _, err := s.SaveEvent(context.Background(), ev); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("save: %v", err)
	}
}

func TestOpenNeverQuotesThePassword(t *testing.T) {
	_, err := Open(context.Background(), config.Config{DatabaseURL: "postgres://u:sekret@host:notaport/db", DBPoolMax: 1})
	if err == nil || strings.Contains(err.Error(), "sekret") {
		t.Fatalf("got %v", err)
	}
}

// openOnePool opens a store on TEST_DATABASE_URL with DB_POOL_MAX=1 and the given DB_ACQUIRE_TIMEOUT.
func openOnePool(t *testing.T, acquireTimeout time.Duration) (*Store, *pgx.Conn) {
	t.Helper()
	return openTestStoreWith(t, config.Config{DBPoolMax: 1, DBAcquireTimeout: acquireTimeout})
}

func newEvent(t *testing.T, entityID string) *event.Event {
	return parse(t, `{"eventHeader":{"uuid":"`+uuid.NewString()+`","eventName":"A","eventType":"A"},
	  "eventBody":{"entities":[{"entityType":"Loan","entityId":"`+entityID+`","updatedAttributes":{"a":1}}]}}`)
}

func stored(t *testing.T, conn *pgx.Conn, ev *event.Event) bool {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE uuid = $1`, ev.UUID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func TestARequestWaitsForABusyPoolUpToTheAcquireTimeout(t *testing.T) {
	s, conn := openOnePool(t, 400*time.Millisecond)
	held, err := s.pool.Acquire(context.Background()) // the pool's only connection
	if err != nil {
		t.Fatal(err)
	}
	// Released before the timeout: the request waited and went through, it was not refused.
	go func() { time.Sleep(150 * time.Millisecond); held.Release() }()
	waited := newEvent(t, "loan-"+uuid.NewString())
	started := time.Now()
	if dup, err := s.SaveEvent(context.Background(), waited); err != nil || dup {
		t.Fatalf("save after waiting: %v %v", dup, err)
	}
	if elapsed := time.Since(started); elapsed < 100*time.Millisecond || !stored(t, conn, waited) {
		t.Fatalf("answered after %v, stored %v: the request should have waited for the connection", elapsed, stored(t, conn, waited))
	}

	// Held past the timeout: 503 after DB_ACQUIRE_TIMEOUT, nothing written.
	held, err = s.pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	refused := newEvent(t, "loan-"+uuid.NewString())
	started = time.Now()
	_, err = s.SaveEvent(context.Background(), refused)
	elapsed := time.Since(started)
	if !errors.Is(err, ErrUnavailable) || elapsed < 350*time.Millisecond || elapsed > 2*time.Second {
		t.Fatalf("got %v after %v; want database unavailable after 400 ms", err, elapsed)
	}
	if stored(t, conn, refused) {
		t.Fatal("a request that got no connection wrote")
	}
}

func TestAGoneClientNeverInterruptsTheTransaction(t *testing.T) {
	s, conn := openOnePool(t, 5*time.Second)
	id := "loan-" + uuid.NewString()
	// Another transaction inserts the same entity and keeps it uncommitted: S2 waits for it.
	blocker, err := conn.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blocker.Exec(context.Background(), UpsertEntitySQL, "Loan", id, []byte(`{"b":2}`)); err != nil {
		t.Fatal(err)
	}
	ev := newEvent(t, id)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond) // a gRPC deadline, or a disconnect
	defer cancel()
	saved := make(chan error, 1)
	go func() { _, err := s.SaveEvent(ctx, ev); saved <- err }()
	<-ctx.Done()
	time.Sleep(100 * time.Millisecond) // the caller is gone while S2 waits for the lock
	if err := blocker.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-saved:
		if err != nil {
			t.Fatalf("save: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the save did not finish")
	}
	if !stored(t, conn, ev) || entityData(t, conn, "Loan", id) != `{"a": 1, "b": 2}` {
		t.Fatal("the transaction of a caller that went away was not committed")
	}

	// A context already cancelled when the call starts is no different.
	cancelled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	late := newEvent(t, "loan-"+uuid.NewString())
	if _, err := s.SaveEvent(cancelled, late); err != nil || !stored(t, conn, late) {
		t.Fatalf("save with a cancelled context: %v", err)
	}
}

// silentServer accepts TCP connections and never answers: a database that hangs while connecting.
func silentServer(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := listener.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		listener.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return listener.Addr().String()
}

func TestOpeningAConnectionIsBoundedByTheAcquireTimeout(t *testing.T) {
	s, err := Open(context.Background(), config.Config{DatabaseURL: "postgres://u:p@" + silentServer(t) + "/db?sslmode=disable",
		DBPoolMax: 2, DBAcquireTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev := &event.Event{UUID: uuid.NewString(), EventName: "A", EventType: "A",
		Entities: []event.Entity{{Type: "Car", ID: "c", Attributes: []byte(`{}`)}}}
	started := time.Now()
	_, err = s.SaveEvent(context.Background(), ev)
	if elapsed := time.Since(started); !errors.Is(err, ErrUnavailable) || elapsed < 250*time.Millisecond || elapsed > 2*time.Second {
		t.Fatalf("got %v after %v; want database unavailable after 300 ms", err, elapsed)
	}
}

// passwordCatcher is a PostgreSQL server that asks for a cleartext password, records it and refuses the
// login: it shows which password a new connection sends.
func passwordCatcher(t *testing.T) (addr string, passwords <-chan string) {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { listener.Close() })
	got := make(chan string, 10)
	go func() {
		for {
			c, err := listener.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				backend := pgproto3.NewBackend(c, c)
				if _, err := backend.ReceiveStartupMessage(); err != nil {
					return
				}
				backend.Send(&pgproto3.AuthenticationCleartextPassword{})
				if backend.Flush() != nil || backend.SetAuthType(pgproto3.AuthTypeCleartextPassword) != nil {
					return
				}
				msg, err := backend.Receive()
				if password, ok := msg.(*pgproto3.PasswordMessage); ok && err == nil {
					got <- password.Password
				}
				backend.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "28P01", Message: "password authentication failed"})
				_ = backend.Flush()
			}()
		}
	}()
	return listener.Addr().String(), got
}

func TestWithPasswordIsReadForEachNewConnection(t *testing.T) {
	addr, passwords := passwordCatcher(t)
	t.Setenv("PGPASSWORD", "from-pgpassword") // the store's password wins over it
	t.Setenv("PGPASSFILE", t.TempDir()+"/none")
	current := "first"
	s, err := Open(context.Background(), config.Config{DatabaseURL: "postgres://bench@" + addr + "/events?sslmode=disable", DBPoolMax: 1},
		WithPassword(func() string { return current }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, want := range []string{"first", "refreshed"} {
		current = want
		if err := s.Ping(context.Background()); err == nil {
			t.Fatal("the catcher refuses every login")
		}
		select {
		case got := <-passwords:
			if got != want {
				t.Fatalf("sent %q, want %q", got, want)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("no login")
		}
	}
	// A password in DATABASE_URL wins over the store's.
	inURL, err := Open(context.Background(), config.Config{DatabaseURL: "postgres://bench:in-url@" + addr + "/events?sslmode=disable", DBPoolMax: 1},
		WithPassword(func() string { return "from-store" }))
	if err != nil {
		t.Fatal(err)
	}
	defer inURL.Close()
	_ = inURL.Ping(context.Background())
	if got := <-passwords; got != "in-url" {
		t.Fatalf("sent %q, want the URL's password", got)
	}
}

func TestURLHasPassword(t *testing.T) {
	for url, want := range map[string]bool{
		"postgres://bench:pw@db/events":              true,
		"postgres://bench:@db/events":                true,
		"postgresql://bench@db/events?password=pw":   true,
		"postgres://bench@db/events?sslmode=require": false,
		"postgres://db/events":                       false,
		"host=db user=bench password=pw":             true,
		"host=db user=bench":                         false,
		"host=db passwordless=1":                     false,
	} {
		if got := urlHasPassword(url); got != want {
			t.Errorf("%s: %v", url, got)
		}
	}
}
