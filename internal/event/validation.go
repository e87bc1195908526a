package event

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// The contract's messages, exact to the character.
const (
	MsgMalformedJSON   = "malformed JSON"
	MsgBodyTooDeep     = "request body nests deeper than 64 levels"
	MsgNumberTooLong   = "event contains a number longer than 100 characters"
	MsgNotObject       = "request body must be a JSON object"
	MsgBulkNotArray    = "request body must be a JSON array of 1 to 1000 events"
	MsgHeaderObject    = "eventHeader must be an object"
	MsgUUID            = "eventHeader.uuid must be a UUID"
	MsgEventName       = "eventHeader.eventName must be a non-empty string"
	MsgEventType       = "eventHeader.eventType must be a non-empty string"
	MsgCreatedDate     = "eventHeader.createdDate must be an RFC 3339 date-time"
	MsgSavedDate       = "eventHeader.savedDate must be an RFC 3339 date-time"
	MsgBodyObject      = "eventBody must be an object"
	MsgEntitiesArray   = "eventBody.entities must be an array of 1 to 100 entities"
	MsgNUL             = "event must not contain the NUL character (U+0000)"
	MsgEventTooDeep    = "event nests deeper than 64 levels"
	MsgUnstorable      = "event contains a value the database cannot store"
	msgEntityObject    = "eventBody.entities[%d] must be an object"
	msgEntityType      = "eventBody.entities[%d].entityType must be a name: a letter, then letters or digits, at most 64 characters"
	msgEntityID        = "eventBody.entities[%d].entityId must be a non-empty string of at most 255 characters"
	msgEntityAttribute = "eventBody.entities[%d].updatedAttributes must be a JSON object"
)

// MsgEntityObject and its siblings give the message about entity i (zero-based).
func MsgEntityObject(i int) string     { return fmt.Sprintf(msgEntityObject, i) }
func MsgEntityType(i int) string       { return fmt.Sprintf(msgEntityType, i) }
func MsgEntityID(i int) string         { return fmt.Sprintf(msgEntityID, i) }
func MsgEntityAttributes(i int) string { return fmt.Sprintf(msgEntityAttribute, i) }

// ValidationError is a rejected request; Message is the contract's text for the first broken rule.
type ValidationError struct {
	Message string
}

func (e *ValidationError) Error() string { return e.Message }

func invalid(message string) error { return &ValidationError{Message: message} }

var (
	uuidPattern       = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	entityTypePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,63}$`)
)

func validUUID(s string) bool       { return uuidPattern.MatchString(s) }
func validEntityType(s string) bool { return entityTypePattern.MatchString(s) }

func validEntityID(s string) bool {
	return s != "" && utf8.RuneCountInString(s) <= MaxEntityIDLength
}

func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

// containsNUL reports whether any string or object key of a decoded JSON value contains U+0000.
func containsNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return hasNUL(v)
	case map[string]any:
		for key, item := range v {
			if hasNUL(key) || containsNUL(item) {
				return true
			}
		}
	case []any:
		for _, item := range v {
			if containsNUL(item) {
				return true
			}
		}
	}
	return false
}
