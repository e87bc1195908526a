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
	deep, long := false, false
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
			value, tooDeep, longNumber, valueNUL := attributeValue(text)
			nul = nul || hasNUL(key) || valueNUL
			deep = deep || tooDeep
			long = long || longNumber
			attributes[key] = value
		}
		if !deep && !long {
			if entity.Attributes, err = marshal(attributes); err != nil {
				return nil, err
			}
		}
		nul = nul || hasNUL(entity.ID)
	}
	// The contract's order: the NUL rule, then the nesting of attribute values, then their numbers.
	if nul {
		return nil, invalid(MsgNUL)
	}
	if deep {
		return nil, invalid(MsgEventTooDeep)
	}
	if long {
		return nil, invalid(MsgNumberTooLong)
	}
	return ev, nil
}

// AttributeValue is the JSON value a gRPC string attribute stands for: the value it spells when the whole
// text is valid JSON (RFC 8259, surrounding whitespace allowed), otherwise the text itself as a string.
// "12" → 12, "true" → true, "{\"a\":1}" → {"a":1}, "abc" → "abc", "1 2" → "1 2", "" → "".
func AttributeValue(text string) any {
	value, _, _, _ := attributeValue(text)
	return value
}

// attributeValue is AttributeValue that also applies the contract's rules to the value, which only bind
// JSON text: tooDeep when it nests deeper than MaxAttributeNesting, longNumber when it holds a number
// longer than MaxNumberLength (value is then nil: the event is rejected, so it is not decoded), nul when a
// string or key of it contains U+0000.
func attributeValue(text string) (value any, tooDeep, longNumber, nul bool) {
	raw := []byte(text)
	if deep, long := exceedsLimits(raw, MaxAttributeNesting); deep || long {
		// Measured without recursion; only JSON text counts, anything else is an ordinary string.
		if valid, hasNUL := scanJSON(raw); valid {
			return nil, deep, long, hasNUL
		}
		return text, false, false, hasNUL(text)
	}
	if !json.Valid(raw) {
		return text, false, false, hasNUL(text)
	}
	value, err := decodeValue(raw)
	if err != nil {
		return text, false, false, hasNUL(text)
	}
	return value, false, false, containsNUL(value)
}
