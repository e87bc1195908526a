// Package event is the lab's domain: the event of contract/CONTRACT.md, its validation with the
// contract's exact messages, and the canonical document stored as events.payload.
//
// Both transports end in the same Event: REST bodies through ParseJSON / ParseBulkJSON / FromJSONValue,
// gRPC messages through FromProto. Validation happens entirely here, before anything is written.
package event

import (
	"bytes"
	"encoding/json"
	"sort"
)

// Limits of the contract.
const (
	MaxEntities       = 100
	MaxBulkEvents     = 1000
	MaxEntityIDLength = 255 // Unicode code points
)

// Event is a validated event, ready to be written.
type Event struct {
	UUID        string // as sent (either case); the database normalises it
	EventName   string
	EventType   string
	CreatedDate *Timestamp // nil when absent, null or ""
	SavedDate   *Timestamp
	Entities    []Entity // request order, 1..MaxEntities
}

// Entity is one entity update of an event.
type Entity struct {
	Type string
	ID   string
	// Attributes is a compact JSON object. Numbers keep the digits they were sent with.
	Attributes json.RawMessage
}

// NormalizedUUID is the uuid in the lower-case form the responses report.
func (e *Event) NormalizedUUID() string {
	return string(bytes.ToLower([]byte(e.UUID)))
}

// EntitiesInLockOrder returns the entities sorted by (Type, ID), a stable sort: equal keys keep request
// order, so the later of two updates to one entity is applied last. Every transaction taking row locks
// in this one order is what keeps concurrent events from deadlocking.
func (e *Event) EntitiesInLockOrder() []Entity {
	sorted := make([]Entity, len(e.Entities))
	copy(sorted, e.Entities)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Type != sorted[j].Type {
			return sorted[i].Type < sorted[j].Type
		}
		return sorted[i].ID < sorted[j].ID
	})
	return sorted
}

type canonicalDocument struct {
	EventHeader canonicalHeader `json:"eventHeader"`
	EventBody   canonicalBody   `json:"eventBody"`
}

type canonicalHeader struct {
	UUID        string  `json:"uuid"`
	EventName   string  `json:"eventName"`
	EventType   string  `json:"eventType"`
	CreatedDate *string `json:"createdDate,omitempty"`
	SavedDate   *string `json:"savedDate,omitempty"`
}

type canonicalBody struct {
	Entities []canonicalEntity `json:"entities"`
}

type canonicalEntity struct {
	EntityType        string          `json:"entityType"`
	EntityID          string          `json:"entityId"`
	UpdatedAttributes json.RawMessage `json:"updatedAttributes"`
}

// Document is the canonical event document stored as events.payload: the known fields only, the dates
// only when present and as sent, entities in request order, attribute values as received.
func (e *Event) Document() []byte {
	doc := canonicalDocument{EventHeader: canonicalHeader{UUID: e.UUID, EventName: e.EventName, EventType: e.EventType}}
	if e.CreatedDate != nil {
		doc.EventHeader.CreatedDate = &e.CreatedDate.Text
	}
	if e.SavedDate != nil {
		doc.EventHeader.SavedDate = &e.SavedDate.Text
	}
	doc.EventBody.Entities = make([]canonicalEntity, len(e.Entities))
	for i, entity := range e.Entities {
		doc.EventBody.Entities[i] = canonicalEntity{entity.Type, entity.ID, entity.Attributes}
	}
	out, err := marshal(doc)
	if err != nil {
		// Every part was produced by this package from valid JSON; failing here is a programming error.
		panic("event: canonical document: " + err.Error())
	}
	return out
}

// marshal encodes compactly without HTML escaping, so stored text stays as readable as it was sent.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
