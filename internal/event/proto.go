package event

import (
	"encoding/json"

	"github.com/perflab/apilab/internal/pb"
)

// FromProto validates a gRPC (or gRPC-Web) EventRequest with the same rules and messages as REST.
// An unset event_header or event_body is "not an object"; empty date strings are absent. Each attribute
// value is stored as the JSON it spells when it is one complete JSON text, else as a JSON string.
func FromProto(req *pb.EventRequest) (*Event, error) {
	header := req.GetEventHeader()
	if header == nil {
		return nil, invalid(MsgHeaderObject)
	}
	ev := &Event{UUID: header.GetUuid(), EventName: header.GetEventName(), EventType: header.GetEventType()}
	if !validUUID(ev.UUID) {
		return nil, invalid(MsgUUID)
	}
	if ev.EventName == "" {
		return nil, invalid(MsgEventName)
	}
	if ev.EventType == "" {
		return nil, invalid(MsgEventType)
	}
	var err error
	if ev.CreatedDate, err = optionalDate(header.GetCreatedDate(), MsgCreatedDate); err != nil {
		return nil, err
	}
	if ev.SavedDate, err = optionalDate(header.GetSavedDate(), MsgSavedDate); err != nil {
		return nil, err
	}
	body := req.GetEventBody()
	if body == nil {
		return nil, invalid(MsgBodyObject)
	}
	items := body.GetEntities()
	if len(items) < 1 || len(items) > MaxEntities {
		return nil, invalid(MsgEntitiesArray)
	}
	nul := hasNUL(ev.EventName) || hasNUL(ev.EventType)
	ev.Entities = make([]Entity, len(items))
	for i, item := range items {
		if item == nil {
			return nil, invalid(MsgEntityObject(i))
		}
		entity := &ev.Entities[i]
		entity.Type, entity.ID = item.GetEntityType(), item.GetEntityId()
		if !validEntityType(entity.Type) {
			return nil, invalid(MsgEntityType(i))
		}
		if !validEntityID(entity.ID) {
			return nil, invalid(MsgEntityID(i))
		}
		attributes := make(map[string]any, len(item.GetUpdatedAttributes()))
		for key, text := range item.GetUpdatedAttributes() {
			value := AttributeValue(text)
			nul = nul || hasNUL(key) || containsNUL(value)
			attributes[key] = value
		}
		if entity.Attributes, err = marshal(attributes); err != nil {
			return nil, err
		}
		nul = nul || hasNUL(entity.ID)
	}
	if nul {
		return nil, invalid(MsgNUL)
	}
	return ev, nil
}

// AttributeValue is the JSON value a gRPC string attribute stands for: the value it spells when the whole
// text is valid JSON (RFC 8259, surrounding whitespace allowed), otherwise the text itself as a string.
// "12" → 12, "true" → true, "{\"a\":1}" → {"a":1}, "abc" → "abc", "1 2" → "1 2", "" → "".
func AttributeValue(text string) any {
	if !json.Valid([]byte(text)) {
		return text
	}
	value, err := decodeJSON([]byte(text))
	if err != nil {
		return text
	}
	return value
}
