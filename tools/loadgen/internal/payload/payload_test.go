package payload

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/perflab/apilab/internal/pb"
	"google.golang.org/protobuf/proto"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestSizesWithinTwoPercent is the ±2 % promise: every size, every event type, many seeds.
func TestSizesWithinTwoPercent(t *testing.T) {
	for _, size := range SizeNames {
		target := Sizes[size]
		typesSeen := map[string]bool{}
		for seed := uint64(1); seed <= 60; seed++ {
			g, err := NewGenerator(seed, 0, size, 10000)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 12; i++ {
				ev := g.Next()
				typesSeen[ev.EventName] = true
				body := JSON(ev)
				if len(body) != JSONSize(ev) {
					t.Fatalf("JSONSize %d != len(JSON) %d", JSONSize(ev), len(body))
				}
				dev := float64(len(body)-target) / float64(target)
				if dev < -SizeTolerance || dev > SizeTolerance {
					t.Fatalf("%s seed %d %s: %d bytes, target %d (%.2f %%)", size, seed, ev.EventName, len(body), target, dev*100)
				}
			}
		}
		if len(typesSeen) != 4 {
			t.Fatalf("%s: saw event types %v, want all four", size, typesSeen)
		}
	}
}

func TestEventIsValidContractJSON(t *testing.T) {
	g, _ := NewGenerator(7, 3, "8k", 100)
	for i := 0; i < 200; i++ {
		ev := g.Next()
		var doc struct {
			EventHeader struct {
				UUID, EventName, EventType, CreatedDate, SavedDate string
			}
			EventBody struct {
				Entities []struct {
					EntityType, EntityID string
					UpdatedAttributes    map[string]json.RawMessage
				}
			}
		}
		dec := json.NewDecoder(bytes.NewReader(JSON(ev)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("event %d is not the contract's JSON: %v\n%s", i, err, JSON(ev))
		}
		h := doc.EventHeader
		if !uuidV4.MatchString(h.UUID) {
			t.Fatalf("uuid %q is not a v4 uuid", h.UUID)
		}
		for _, d := range []string{h.CreatedDate, h.SavedDate} {
			if _, err := time.Parse(time.RFC3339Nano, d); err != nil || d[len(d)-1] != 'Z' {
				t.Fatalf("date %q is not RFC 3339 with Z", d)
			}
		}
		if len(doc.EventBody.Entities) != 1 || len(doc.EventBody.Entities[0].UpdatedAttributes) == 0 {
			t.Fatalf("want one entity with attributes: %s", JSON(ev))
		}
	}
}

func TestSameSeedSameEvents(t *testing.T) {
	a, _ := NewGenerator(42, 5, "4k", 10000)
	b, _ := NewGenerator(42, 5, "4k", 10000)
	c, _ := NewGenerator(43, 5, "4k", 10000)
	for i := 0; i < 50; i++ {
		ea, eb, ec := JSON(a.Next()), JSON(b.Next()), JSON(c.Next())
		if !bytes.Equal(ea, eb) {
			t.Fatalf("same seed gave different event %d", i)
		}
		if bytes.Equal(ea, ec) {
			t.Fatalf("different seeds gave the same event %d", i)
		}
	}
}

func TestUUIDsFreshAndEntityIDsRepeat(t *testing.T) {
	g, _ := NewGenerator(1, 0, "default", 20)
	uuids := map[string]bool{}
	ids := map[string]int{}
	for i := 0; i < 2000; i++ {
		ev := g.Next()
		if uuids[ev.UUID] {
			t.Fatalf("uuid %s repeated", ev.UUID)
		}
		uuids[ev.UUID] = true
		ids[ev.Entities[0].ID]++
	}
	// 4 types × 20 ids: with 2000 events every id is hit many times, so updates (merges) happen.
	if len(ids) > 80 {
		t.Fatalf("%d distinct entity ids, want at most 80 from a pool of 20 per type", len(ids))
	}
	if !regexp.MustCompile(`^(car|loan|payment|service)-0000[01][0-9]$`).MatchString(g.Next().Entities[0].ID) {
		t.Fatal("entity id format changed")
	}
}

func TestProtoCarriesTheSameEvent(t *testing.T) {
	g, _ := NewGenerator(9, 0, "32k", 10000)
	ev := g.Next()
	req := Proto(ev)
	if req.GetEventHeader().GetUuid() != ev.UUID || req.GetEventHeader().GetCreatedDate() != ev.CreatedDate {
		t.Fatal("header not carried")
	}
	var rest map[string]any
	_ = json.Unmarshal(JSON(ev), &rest)
	attrs := rest["eventBody"].(map[string]any)["entities"].([]any)[0].(map[string]any)["updatedAttributes"].(map[string]any)
	got := req.GetEventBody().GetEntities()[0].GetUpdatedAttributes()
	if len(got) != len(attrs) {
		t.Fatalf("%d attributes over gRPC, %d over REST", len(got), len(attrs))
	}
	for k, v := range attrs {
		// The contract's rule: parse as JSON when valid JSON text, else a string.
		var back any
		if err := json.Unmarshal([]byte(got[k]), &back); err != nil {
			back = got[k]
		}
		wantJSON, _ := json.Marshal(v)
		gotJSON, _ := json.Marshal(back)
		if !bytes.Equal(wantJSON, gotJSON) {
			t.Fatalf("attribute %s: REST %s, gRPC stores %s", k, wantJSON, gotJSON)
		}
	}
	if proto.Size(req) < 30000 {
		t.Fatalf("protobuf of a 32k event is only %d bytes", proto.Size(req))
	}
}

func TestProtoQuotesStringsThatLookLikeJSON(t *testing.T) {
	ev := &Event{Entities: []Entity{{Type: "Car", ID: "car-1", Attributes: []Attribute{str("code", "12"), str("name", "abc")}}}}
	attrs := Proto(ev).GetEventBody().GetEntities()[0].GetUpdatedAttributes()
	if attrs["code"] != `"12"` || attrs["name"] != "abc" {
		t.Fatalf("got %v", attrs)
	}
}

func TestUnknownSize(t *testing.T) {
	if _, err := NewGenerator(1, 0, "400b", 10); err == nil {
		t.Fatal("want an error for an unknown size")
	}
}

// TestTemplatesFillFreshSlots: every body a stream writes is a valid contract event of its
// template's exact size (±2 % of the target), with a fresh v4 uuid and an entity id from the pool;
// the protobuf and gRPC-Web encodings of the same draw carry the same event.
func TestTemplatesFillFreshSlots(t *testing.T) {
	idRE := regexp.MustCompile(`^(car|loan|payment|service)-0000[0-4][0-9]$`)
	for _, size := range SizeNames {
		tp, err := NewTemplates(3, size, 50, 16)
		if err != nil {
			t.Fatal(err)
		}
		// Streams of the same (seed, stream) draw the same events whatever the encoding.
		js, ps, ws := tp.NewStream(3, 1), tp.NewStream(3, 1), tp.NewStream(3, 1)
		uuids := map[string]bool{}
		ids := map[string]bool{}
		for i := 0; i < 300; i++ {
			body := js.Next(JSONBody)
			dev := float64(len(body)-Sizes[size]) / float64(Sizes[size])
			if dev < -SizeTolerance || dev > SizeTolerance || len(body) != JSONSize(tp.Event(js.Last)) {
				t.Fatalf("%s: %d bytes", size, len(body))
			}
			var doc struct {
				EventHeader struct{ UUID string }
				EventBody   struct {
					Entities []struct {
						EntityType, EntityID string
						UpdatedAttributes    map[string]json.RawMessage
					}
				}
			}
			if err := json.Unmarshal(body, &doc); err != nil || len(doc.EventBody.Entities) != 1 {
				t.Fatalf("%s: not an event (%v): %s", size, err, body)
			}
			u, id := doc.EventHeader.UUID, doc.EventBody.Entities[0].EntityID
			if !uuidV4.MatchString(u) || uuids[u] {
				t.Fatalf("uuid %q is not a fresh v4 uuid", u)
			}
			uuids[u] = true
			if !idRE.MatchString(id) {
				t.Fatalf("entity id %q is not from a pool of 50", id)
			}
			ids[id] = true

			var req pb.EventRequest
			if err := proto.Unmarshal(ps.Next(ProtoMessage), &req); err != nil {
				t.Fatal(err)
			}
			ent := req.GetEventBody().GetEntities()[0]
			if req.GetEventHeader().GetUuid() != u || ent.GetEntityId() != id ||
				len(ent.GetUpdatedAttributes()) != len(doc.EventBody.Entities[0].UpdatedAttributes) {
				t.Fatalf("protobuf carries %s/%s, JSON %s/%s", req.GetEventHeader().GetUuid(), ent.GetEntityId(), u, id)
			}
			frame := ws.Next(GRPCWebFrame)
			msg, _ := proto.Marshal(&req)
			if frame[0] != 0 || int(binary.BigEndian.Uint32(frame[1:5])) != len(frame)-5 || len(frame)-5 != len(msg) {
				t.Fatalf("gRPC-Web frame header % x for a %d-byte message", frame[:5], len(msg))
			}
			var fromFrame pb.EventRequest
			if err := proto.Unmarshal(frame[5:], &fromFrame); err != nil || fromFrame.GetEventHeader().GetUuid() != u {
				t.Fatalf("gRPC-Web frame: %v", err)
			}
		}
		if len(ids) < 40 {
			t.Fatalf("%s: only %d distinct entity ids from a pool of 50 x 4 types", size, len(ids))
		}
	}
}

// TestStreamAllocatesNothing: the per-request path reuses its buffer.
func TestStreamAllocatesNothing(t *testing.T) {
	tp, _ := NewTemplates(1, "4k", 10000, 16)
	s := tp.NewStream(1, 0)
	s.Next(JSONBody)
	if n := testing.AllocsPerRun(200, func() { s.Next(JSONBody) }); n != 0 {
		t.Fatalf("%v allocations per event", n)
	}
}

func TestLargePoolsKeepAFixedIDWidth(t *testing.T) {
	if IDWidth(10000) != 6 || IDWidth(1000000) != 6 || IDWidth(1000001) != 7 || IDWidth(1) != 6 {
		t.Fatal("IDWidth")
	}
	tp, _ := NewTemplates(1, "default", 5000000, 4)
	s := tp.NewStream(1, 0)
	for i := 0; i < 100; i++ {
		body := s.Next(JSONBody)
		if len(body) != JSONSize(tp.Event(s.Last)) {
			t.Fatal("size changed with the id")
		}
	}
}
