package event

import (
	"bytes"
	"encoding/json"
	"io"
	"unicode/utf8"
)

// ParseJSON validates the body of POST /api/v1/events.
// The error is a *ValidationError unless the event is valid.
func ParseJSON(body []byte) (*Event, error) {
	value, err := decodeJSON(body)
	if err != nil {
		return nil, err
	}
	return FromJSONValue(value)
}

// ParseBulkJSON checks that the body of POST /api/v1/events/bulk is an array of 1 to MaxBulkEvents
// items and returns the items, each to be validated on its own with FromJSONValue.
func ParseBulkJSON(body []byte) ([]any, error) {
	value, err := decodeJSON(body)
	if err != nil {
		return nil, err
	}
	items, ok := value.([]any)
	if !ok || len(items) < 1 || len(items) > MaxBulkEvents {
		return nil, invalid(MsgBulkNotArray)
	}
	return items, nil
}

// decodeJSON decodes exactly one JSON value of a request body. Numbers become json.Number, so their text
// survives intact. JSON text is UTF-8 (RFC 8259); the decoder would silently replace invalid bytes, so
// check first. The parse-time limits (nesting, number length) come next, in one pass before the decoder
// (which recurses) sees the body: malformed JSON anywhere is still "malformed JSON", a well-formed body
// deeper than MaxNesting is too deep, one with a number longer than MaxNumberLength is refused whole.
func decodeJSON(body []byte) (any, error) {
	if !utf8.Valid(body) {
		return nil, invalid(MsgMalformedJSON)
	}
	if tooDeep, longNumber := exceedsLimits(body, MaxNesting); tooDeep || longNumber {
		if valid, _ := scanJSON(body); !valid {
			return nil, invalid(MsgMalformedJSON)
		}
		if tooDeep {
			return nil, invalid(MsgBodyTooDeep)
		}
		return nil, invalid(MsgNumberTooLong)
	}
	return decodeValue(body)
}

// decodeValue decodes one JSON value whose nesting is already known to be small.
func decodeValue(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var value any
	if err := dec.Decode(&value); err != nil {
		return nil, invalid(MsgMalformedJSON)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid(MsgMalformedJSON) // something follows the value
	}
	return value, nil
}

// FromJSONValue validates one event decoded with json.Decoder.UseNumber (as ParseBulkJSON returns them),
// checking the contract's rules in the contract's order.
func FromJSONValue(value any) (*Event, error) {
	root, ok := value.(map[string]any)
	if !ok {
		return nil, invalid(MsgNotObject)
	}
	header, ok := root["eventHeader"].(map[string]any)
	if !ok {
		return nil, invalid(MsgHeaderObject)
	}
	ev := &Event{}
	if ev.UUID, ok = header["uuid"].(string); !ok || !validUUID(ev.UUID) {
		return nil, invalid(MsgUUID)
	}
	if ev.EventName, ok = header["eventName"].(string); !ok || ev.EventName == "" {
		return nil, invalid(MsgEventName)
	}
	if ev.EventType, ok = header["eventType"].(string); !ok || ev.EventType == "" {
		return nil, invalid(MsgEventType)
	}
	var err error
	if ev.CreatedDate, err = optionalJSONDate(header["createdDate"], MsgCreatedDate); err != nil {
		return nil, err
	}
	if ev.SavedDate, err = optionalJSONDate(header["savedDate"], MsgSavedDate); err != nil {
		return nil, err
	}
	body, ok := root["eventBody"].(map[string]any)
	if !ok {
		return nil, invalid(MsgBodyObject)
	}
	items, ok := body["entities"].([]any)
	if !ok || len(items) < 1 || len(items) > MaxEntities {
		return nil, invalid(MsgEntitiesArray)
	}
	ev.Entities = make([]Entity, len(items))
	for i, item := range items {
		obj, ok := item.(map[string]any)
		if !ok {
			return nil, invalid(MsgEntityObject(i))
		}
		entity := &ev.Entities[i]
		if entity.Type, ok = obj["entityType"].(string); !ok || !validEntityType(entity.Type) {
			return nil, invalid(MsgEntityType(i))
		}
		if entity.ID, ok = obj["entityId"].(string); !ok || !validEntityID(entity.ID) {
			return nil, invalid(MsgEntityID(i))
		}
		attributes, ok := obj["updatedAttributes"].(map[string]any)
		if !ok {
			return nil, invalid(MsgEntityAttributes(i))
		}
		// Re-encoding (not the raw bytes) guarantees text PostgreSQL accepts: the decoder has already
		// replaced invalid UTF-8 and lone surrogates, and json.Number keeps every digit.
		if entity.Attributes, err = marshal(attributes); err != nil {
			return nil, err
		}
	}
	// Unknown fields are dropped from the stored document, but the rule covers every string of the event.
	if containsNUL(root) {
		return nil, invalid(MsgNUL)
	}
	return ev, nil
}

func optionalJSONDate(value any, message string) (*Timestamp, error) {
	switch v := value.(type) {
	case nil: // absent or null
		return nil, nil
	case string:
		return optionalDate(v, message)
	default:
		return nil, invalid(message)
	}
}

func optionalDate(text, message string) (*Timestamp, error) {
	if text == "" {
		return nil, nil
	}
	ts, ok := ParseTimestamp(text)
	if !ok {
		return nil, invalid(message)
	}
	return &ts, nil
}
