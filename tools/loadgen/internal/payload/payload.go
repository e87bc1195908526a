// Package payload generates the lab's events: one generator for every protocol, so REST, gRPC and
// gRPC-Web carry the same logical events, and the same seed gives the same event stream.
//
// An event's REST JSON body is written by hand in one fixed key order, which lets the generator know
// its exact size and pad updatedAttributes to the requested target byte count.
package payload

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/perflab/apilab/internal/pb"
)

// Size is a named payload size.
type Size string

// Sizes accepted by --payload-size, with their target REST body size in bytes.
var Sizes = map[Size]int{
	"default": 400,
	"4k":      4096,
	"8k":      8192,
	"32k":     32768,
	"64k":     65536,
}

// SizeNames lists the sizes in ascending order, for messages and tests.
var SizeNames = []Size{"default", "4k", "8k", "32k", "64k"}

// SizeTolerance is the promise on every REST body: within ±2 % of its size's target (tested over many
// seeds; in practice exact).
const SizeTolerance = 0.02

// DefaultEntityPool is --entity-pool's default: entity ids per type come from this many.
const DefaultEntityPool = 10000

// Attribute is one key of updatedAttributes. Raw is its JSON text; a string value also keeps its
// plain text in Str, because gRPC carries strings as-is and everything else as JSON text.
type Attribute struct {
	Key      string
	Raw      []byte
	Str      string
	IsString bool
}

// Entity is one entry of eventBody.entities.
type Entity struct {
	Type       string
	ID         string
	Attributes []Attribute
}

// Event is one logical event, independent of the protocol that will carry it.
type Event struct {
	UUID        string
	EventName   string
	EventType   string
	CreatedDate string
	SavedDate   string
	Entities    []Entity
}

// kind describes one of the four event types the lab sends.
type kind struct {
	eventName  string
	entityType string
	idPrefix   string
}

var kinds = []kind{
	{"CarCreated", "Car", "car"},
	{"LoanCreated", "Loan", "loan"},
	{"LoanPaymentSubmitted", "LoanPayment", "payment"},
	{"ServiceDone", "Service", "service"},
}

// Generator makes events. It is not safe for concurrent use: give each virtual user its own, seeded
// with NewGenerator(seed, vu).
type Generator struct {
	rng        *rand.Rand
	target     int
	entityPool int
	idWidth    int
	epoch      time.Time
}

// NewGenerator returns a generator whose event stream depends only on (seed, stream), target size and
// pool size.
func NewGenerator(seed uint64, stream uint64, size Size, entityPool int) (*Generator, error) {
	target, ok := Sizes[size]
	if !ok {
		return nil, fmt.Errorf("unknown payload size %q (use default, 4k, 8k, 32k or 64k)", size)
	}
	if entityPool < 1 {
		return nil, fmt.Errorf("entity pool must be at least 1, got %d", entityPool)
	}
	return &Generator{
		rng:        rand.New(rand.NewPCG(seed, stream^0x9e3779b97f4a7c15)),
		target:     target,
		entityPool: entityPool,
		idWidth:    IDWidth(entityPool),
		// Dates come from the seed, not the clock, so the same seed gives the same events.
		epoch: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
	}, nil
}

// Target is the REST body size this generator aims at.
func (g *Generator) Target() int { return g.target }

// Next returns a new event of a random type.
func (g *Generator) Next() *Event {
	k := kinds[g.rng.IntN(len(kinds))]
	created := g.epoch.Add(time.Duration(g.rng.Int64N(int64(365*24*time.Hour/time.Millisecond))) * time.Millisecond)
	saved := created.Add(time.Duration(50+g.rng.IntN(5000)) * time.Millisecond)
	ev := &Event{
		UUID:        g.uuid(),
		EventName:   k.eventName,
		EventType:   k.eventName,
		CreatedDate: created.Format("2006-01-02T15:04:05.000Z"),
		SavedDate:   saved.Format("2006-01-02T15:04:05.000Z"),
	}
	ent := Entity{Type: k.entityType, ID: g.entityID(k.idPrefix)}
	ent.Attributes = g.baseAttributes(k.entityType)
	ev.Entities = []Entity{ent}
	g.pad(ev)
	return ev
}

func (g *Generator) uuid() string {
	var b [16]byte
	hi, lo := g.rng.Uint64(), g.rng.Uint64()
	for i := 0; i < 8; i++ {
		b[i] = byte(hi >> (8 * i))
		b[8+i] = byte(lo >> (8 * i))
	}
	b[6] = (b[6] & 0x0f) | 0x40 // version 4
	b[8] = (b[8] & 0x3f) | 0x80 // RFC 4122 variant
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexdigits[c>>4], hexdigits[c&0x0f])
	}
	return string(out)
}

func (g *Generator) entityID(prefix string) string {
	return fmt.Sprintf("%s-%0*d", prefix, g.idWidth, g.rng.IntN(g.entityPool))
}

// IDWidth is the digit count of entity ids for a pool: at least 6 ("car-000123"), more for pools
// over a million, so every id of a pool has the same width (and a body the same size).
func IDWidth(entityPool int) int {
	return max(6, len(strconv.Itoa(max(entityPool-1, 0))))
}

var (
	makes    = []string{"Toyota", "Honda", "Ford", "Volkswagen", "Tesla", "BMW", "Kia", "Mazda"}
	colors   = []string{"black", "white", "silver", "blue", "red", "grey"}
	statuses = []string{"active", "pending", "approved"}
	methods  = []string{"ACH", "card", "wire", "check"}
	services = []string{"oil change", "tire rotation", "brake pads", "inspection", "battery"}
	words    = strings.Fields("routine check customer reported noise inspected replaced filter topped fluids " +
		"adjusted alignment verified torque cleaned sensor updated firmware approved warranty scheduled follow up")
)

func (g *Generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *Generator) money(lo, hi int) json.Number {
	cents := lo*100 + g.rng.IntN((hi-lo)*100)
	return json.Number(fmt.Sprintf("%d.%02d", cents/100, cents%100))
}

func str(key, v string) Attribute {
	raw, _ := json.Marshal(v)
	return Attribute{Key: key, Raw: raw, Str: v, IsString: true}
}

func num(key string, v json.Number) Attribute { return Attribute{Key: key, Raw: []byte(v)} }

func integer(key string, v int) Attribute { return Attribute{Key: key, Raw: []byte(strconv.Itoa(v))} }

// baseAttributes are the small, type-specific attributes every event carries (well under 400 bytes
// in total, so the default size can be reached by padding alone).
func (g *Generator) baseAttributes(entityType string) []Attribute {
	switch entityType {
	case "Car":
		return []Attribute{str("make", g.pick(makes)), integer("year", 2015+g.rng.IntN(11)),
			str("color", g.pick(colors)), integer("mileage", g.rng.IntN(150000)), num("price", g.money(8000, 60000))}
	case "Loan":
		return []Attribute{num("loanAmount", g.money(5000, 50000)), num("interestRate", json.Number(fmt.Sprintf("%d.%02d", 2+g.rng.IntN(8), g.rng.IntN(100)))),
			integer("termMonths", 12*(1+g.rng.IntN(6))), str("status", g.pick(statuses))}
	case "LoanPayment":
		return []Attribute{str("loanId", g.entityID("loan")), num("amount", g.money(100, 2000)),
			str("method", g.pick(methods))}
	default: // Service
		return []Attribute{str("carId", g.entityID("car")), str("serviceType", g.pick(services)),
			num("cost", g.money(40, 1500)), integer("mileage", g.rng.IntN(150000))}
	}
}

// historyItem is realistic nested data used to grow large payloads.
func (g *Generator) historyItem(i int) []byte {
	item := map[string]any{
		"seq":      i,
		"at":       g.epoch.Add(time.Duration(g.rng.Int64N(int64(365*24*time.Hour/time.Second))) * time.Second).Format(time.RFC3339),
		"action":   g.pick(services),
		"odometer": g.rng.IntN(200000),
		"amount":   g.money(10, 900),
		"note":     g.sentence(4 + g.rng.IntN(10)),
	}
	raw, _ := json.Marshal(item) // keys sorted: deterministic
	return raw
}

func (g *Generator) sentence(n int) string {
	var sb strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(g.pick(words))
	}
	return sb.String()
}

// pad grows the first entity's attributes until the REST body is exactly the target size: first whole
// "history" items (nested objects), then a "notes" string that fills the remainder.
func (g *Generator) pad(ev *Event) {
	ent := &ev.Entities[0]
	size := JSONSize(ev)
	// `,"notes":""` costs 11 bytes before any content.
	const notesOverhead = 11
	if g.target >= 2048 {
		const historyOverhead = 13 // `,"history":[]`
		budget := g.target - size - notesOverhead - historyOverhead
		var items [][]byte
		used := 0
		for {
			item := g.historyItem(len(items) + 1)
			cost := len(item)
			if len(items) > 0 {
				cost++ // comma
			}
			// Leave some room so the notes string is never tiny-but-forced.
			if used+cost > budget-64 {
				break
			}
			items = append(items, item)
			used += cost
		}
		if len(items) > 0 {
			raw := make([]byte, 0, used+2)
			raw = append(raw, '[')
			for i, it := range items {
				if i > 0 {
					raw = append(raw, ',')
				}
				raw = append(raw, it...)
			}
			raw = append(raw, ']')
			ent.Attributes = append(ent.Attributes, Attribute{Key: "history", Raw: raw})
			size = JSONSize(ev)
		}
	}
	fill := g.target - size - notesOverhead
	if fill < 0 {
		return // base event already larger than the target: cannot shrink (tests guard against it)
	}
	var sb strings.Builder
	for sb.Len() < fill {
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(g.pick(words))
	}
	notes := sb.String()[:fill]
	ent.Attributes = append(ent.Attributes, str("notes", notes))
}

// JSON writes the REST body: compact, keys in the contract's order.
func JSON(ev *Event) []byte {
	buf := make([]byte, 0, JSONSize(ev))
	return appendJSON(buf, ev)
}

// JSONSize is len(JSON(ev)) without building it.
func JSONSize(ev *Event) int {
	// All generated strings are ASCII without characters that need escaping, except attribute
	// values, whose Raw text is already JSON; so sizes add up exactly.
	n := len(`{"eventHeader":{"uuid":"","eventName":"","eventType":"","createdDate":"","savedDate":""},"eventBody":{"entities":[]}}`)
	n += len(ev.UUID) + len(ev.EventName) + len(ev.EventType) + len(ev.CreatedDate) + len(ev.SavedDate)
	for i, e := range ev.Entities {
		if i > 0 {
			n++
		}
		n += len(`{"entityType":"","entityId":"","updatedAttributes":{}}`) + len(e.Type) + len(e.ID)
		for j, a := range e.Attributes {
			if j > 0 {
				n++
			}
			n += len(a.Key) + 3 + len(a.Raw) // "key":raw
		}
	}
	return n
}

func appendJSON(b []byte, ev *Event) []byte {
	b = append(b, `{"eventHeader":{"uuid":"`...)
	b = append(b, ev.UUID...)
	b = append(b, `","eventName":"`...)
	b = append(b, ev.EventName...)
	b = append(b, `","eventType":"`...)
	b = append(b, ev.EventType...)
	b = append(b, `","createdDate":"`...)
	b = append(b, ev.CreatedDate...)
	b = append(b, `","savedDate":"`...)
	b = append(b, ev.SavedDate...)
	b = append(b, `"},"eventBody":{"entities":[`...)
	for i, e := range ev.Entities {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"entityType":"`...)
		b = append(b, e.Type...)
		b = append(b, `","entityId":"`...)
		b = append(b, e.ID...)
		b = append(b, `","updatedAttributes":{`...)
		for j, a := range e.Attributes {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, a.Key...)
			b = append(b, `":`...)
			b = append(b, a.Raw...)
		}
		b = append(b, `}}`...)
	}
	return append(b, `]}}`...)
}

// Proto converts the event to the gRPC request: string attribute values as-is, every other value as
// its JSON text (the contract's JSON-or-string rule maps both back to the same stored document).
func Proto(ev *Event) *pb.EventRequest {
	ents := make([]*pb.EntityUpdate, len(ev.Entities))
	for i, e := range ev.Entities {
		attrs := make(map[string]string, len(e.Attributes))
		for _, a := range e.Attributes {
			// A string that is itself valid JSON text ("12", "true") would be stored as that JSON
			// value; sending its quoted form keeps it a string, as in the REST body.
			if a.IsString && !json.Valid([]byte(a.Str)) {
				attrs[a.Key] = a.Str
			} else {
				attrs[a.Key] = string(a.Raw)
			}
		}
		ents[i] = &pb.EntityUpdate{EntityType: e.Type, EntityId: e.ID, UpdatedAttributes: attrs}
	}
	return &pb.EventRequest{
		EventHeader: &pb.EventHeader{Uuid: ev.UUID, EventName: ev.EventName, EventType: ev.EventType,
			CreatedDate: ev.CreatedDate, SavedDate: ev.SavedDate},
		EventBody: &pb.EventBody{Entities: ents},
	}
}
