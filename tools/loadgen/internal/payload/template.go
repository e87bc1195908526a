package payload

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/perflab/apilab/internal/grpcweb"
	"google.golang.org/protobuf/proto"
)

// Encoding is how a Stream writes an event: the REST JSON body, the gRPC protobuf message, or the
// gRPC-Web request body (one data frame holding the protobuf message).
type Encoding int

const (
	JSONBody Encoding = iota
	ProtoMessage
	GRPCWebFrame
	encodings
)

// Templates are events built once, at start, by a Generator and encoded for every protocol, with
// two fixed-width slots left open: the event's uuid and the number of its entity id. A Stream fills
// the slots of a randomly chosen template for every request (a fresh v4 uuid, an id from the
// entity pool) in a reusable buffer: no per-request JSON or protobuf marshalling, no allocation.
//
// Sizes stay exact: a slot always has the same width (36 characters; IDWidth digits), so every
// body of a template has the template's size, and templates are padded to the target like events.
type Templates struct {
	list       []template
	entityPool int
	idWidth    int
}

type template struct {
	event  *Event // the template's event, with the slots holding their markers
	enc    [encodings][]byte
	uuidAt [encodings]int
	idAt   [encodings]int
}

// Slot markers: characters a generated event never contains, so each marker is found exactly once.
const (
	uuidMarker = "ZZZZZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZZZZZZZZZ"
	idMarkerCh = "Z"
)

// TemplateCount is how many templates a run builds for a size: 256, fewer for the largest bodies
// (at most ~8 MB of JSON), never fewer than 16.
func TemplateCount(size Size) int {
	return min(256, max(16, (8<<20)/max(Sizes[size], 1)))
}

// NewTemplates builds n templates from the generator's stream (seed, stream 0).
func NewTemplates(seed uint64, size Size, entityPool, n int) (*Templates, error) {
	g, err := NewGenerator(seed, 0, size, entityPool)
	if err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("templates: need at least one, got %d", n)
	}
	t := &Templates{entityPool: entityPool, idWidth: g.idWidth}
	idDigits := strings.Repeat(idMarkerCh, g.idWidth)
	for range n {
		ev := g.Next()
		ev.UUID = uuidMarker
		ent := &ev.Entities[0]
		prefix, _, _ := strings.Cut(ent.ID, "-")
		ent.ID = prefix + "-" + idDigits // same width as a real id: sizes unchanged
		tp := template{event: ev}
		msg, err := proto.Marshal(Proto(ev))
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		frame := grpcweb.EncodeRequest(grpcweb.Binary, msg)
		tp.enc = [encodings][]byte{JSON(ev), msg, frame}
		for e, b := range tp.enc {
			if tp.uuidAt[e], err = slot(b, uuidMarker); err != nil {
				return nil, err
			}
			if tp.idAt[e], err = slot(b, ent.ID); err != nil {
				return nil, err
			}
			tp.idAt[e] += len(prefix) + 1
		}
		t.list = append(t.list, tp)
	}
	return t, nil
}

func slot(b []byte, marker string) (int, error) {
	i := bytes.Index(b, []byte(marker))
	if i < 0 || bytes.Count(b, []byte(marker)) != 1 {
		return 0, fmt.Errorf("templates: marker %q found %d times", marker, bytes.Count(b, []byte(marker)))
	}
	return i, nil
}

// Len is the number of templates.
func (t *Templates) Len() int { return len(t.list) }

// Event is template i's event, its slots holding markers (for tests and documentation).
func (t *Templates) Event(i int) *Event { return t.list[i].event }

// Stream writes the events of one virtual user. Not safe for concurrent use.
type Stream struct {
	t   *Templates
	rng *rand.Rand
	buf []byte
	// Last is the template of the latest event, UUID and EntityNumber its filled slots.
	Last         int
	EntityNumber int
}

// NewStream returns the stream of events number `stream` of seed: the same (seed, stream) and
// templates give the same events.
func (t *Templates) NewStream(seed, stream uint64) *Stream {
	return &Stream{t: t, rng: rand.New(rand.NewPCG(seed^0x5851f42d4c957f2d, stream^0x9e3779b97f4a7c15))}
}

// Next writes the next event in encoding e and returns it. The bytes are the stream's own buffer:
// valid until the next call of Next.
func (s *Stream) Next(e Encoding) []byte {
	s.Last = s.rng.IntN(len(s.t.list))
	tp := &s.t.list[s.Last]
	s.buf = append(s.buf[:0], tp.enc[e]...)
	putUUID(s.buf[tp.uuidAt[e]:tp.uuidAt[e]+36], s.rng.Uint64(), s.rng.Uint64())
	s.EntityNumber = s.rng.IntN(s.t.entityPool)
	putDigits(s.buf[tp.idAt[e]:tp.idAt[e]+s.t.idWidth], s.EntityNumber)
	return s.buf
}

// UUID returns the uuid of the latest event (allocates: for tests).
func (s *Stream) UUID(e Encoding) string {
	tp := &s.t.list[s.Last]
	return string(s.buf[tp.uuidAt[e] : tp.uuidAt[e]+36])
}

const hexdigits = "0123456789abcdef"

// putUUID writes a random v4 uuid (RFC 4122 variant) into dst[0:36].
func putUUID(dst []byte, hi, lo uint64) {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], hi)
	binary.LittleEndian.PutUint64(b[8:], lo)
	b[6] = (b[6] & 0x0f) | 0x40 // version 4
	b[8] = (b[8] & 0x3f) | 0x80 // RFC 4122 variant
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j], dst[j+1] = hexdigits[c>>4], hexdigits[c&0x0f]
		j += 2
	}
}

// putDigits writes n zero-padded into all of dst.
func putDigits(dst []byte, n int) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + n%10)
		n /= 10
	}
}
