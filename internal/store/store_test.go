package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/perflab/apilab/internal/config"
	"github.com/perflab/apilab/internal/event"
)

// These tests write to the database of TEST_DATABASE_URL (schema applied, see db/schema.sql). They use
// fresh uuids and entity ids, so they can share a database with other runs.
func openTestStore(t *testing.T) (*Store, *pgx.Conn) {
	t.Helper()
	url := os.Getenv("TEST_DATABASE_URL")
	if url == "" {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	s, err := Open(context.Background(), config.Config{DatabaseURL: url, DBPoolMax: 4})
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
