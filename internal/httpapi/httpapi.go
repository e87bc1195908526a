// Package httpapi is the REST surface of the contract without an HTTP framework: it turns a request
// body into a status and a JSON document. The Gin server (apis/go-rest) and the API Gateway Lambda both
// sit on it, so every Go REST entry point answers byte for byte the same.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/perflab/apilab/internal/auth"
	"github.com/perflab/apilab/internal/event"
	"github.com/perflab/apilab/internal/store"
)

// Routes of the REST contract.
const (
	EventsPath = "/api/v1/events"
	BulkPath   = "/api/v1/events/bulk"
	HealthPath = "/api/v1/events/health"
)

// Messages of the REST contract that are not validation messages.
const (
	MsgUnsupportedContentType = "unsupported content type: use application/json"
	MsgNotFound               = "not found"
	MsgMethodNotAllowed       = "method not allowed"
	MsgUnavailable            = "database unavailable"
	MsgInternal               = "internal error"
	msgProcessed              = "event processed"
	msgDuplicate              = "duplicate event ignored"
	msgBatchProcessed         = "batch processed"
)

// MsgBodyTooLarge is the 413 message for a limit of maxBodyBytes.
func MsgBodyTooLarge(maxBodyBytes int64) string {
	return fmt.Sprintf("request body exceeds %d bytes", maxBodyBytes)
}

// Store is what the REST surface needs from the database; *store.Store implements it.
type Store interface {
	// SaveEvent writes one event in one transaction. It must run to its end whatever happens to ctx's
	// cancellation (a client that goes away), as *store.Store does: the contract's "Saturation".
	SaveEvent(ctx context.Context, ev *event.Event) (duplicate bool, err error)
	Ping(ctx context.Context) error
}

// Response is a status and the document to send as application/json, with any headers it needs besides
// Content-Type.
type Response struct {
	Status  int
	Body    any
	Headers map[string]string
}

// JSON encodes the body. The documents are plain structs, so encoding cannot fail.
func (r Response) JSON() []byte {
	out, err := json.Marshal(r.Body)
	if err != nil {
		panic("httpapi: encoding a response: " + err.Error())
	}
	return out
}

// ErrorBody is every error answer: {"error": "<message>", "status": <code>}.
type ErrorBody struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// EventResult answers POST /api/v1/events.
type EventResult struct {
	Success     bool   `json:"success"`
	Message     string `json:"message"`
	EventUUID   string `json:"eventUuid"`
	EntityCount int    `json:"entityCount"`
	Duplicate   bool   `json:"duplicate"`
}

// BulkResult answers POST /api/v1/events/bulk.
type BulkResult struct {
	Success          bool        `json:"success"`
	Message          string      `json:"message"`
	BatchID          string      `json:"batchId"`
	ProcessedCount   int         `json:"processedCount"`
	DuplicateCount   int         `json:"duplicateCount"`
	FailedCount      int         `json:"failedCount"`
	Errors           []BulkError `json:"errors"`
	ProcessingTimeMs int64       `json:"processingTimeMs"`
}

// BulkError is one rejected item of a batch.
type BulkError struct {
	Index  int    `json:"index"`
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// HealthBody answers a healthy GET /api/v1/events/health.
type HealthBody struct {
	Status string `json:"status"`
}

// Error builds an error response.
func Error(status int, message string) Response {
	return Response{Status: status, Body: ErrorBody{Error: message, Status: status}}
}

// IsJSONContentType accepts application/json with any parameters (charset...), case-insensitively.
func IsJSONContentType(contentType string) bool {
	mediaType, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mediaType), "application/json")
}

// Service answers the REST contract.
type Service struct {
	store        Store
	tokens       *auth.Verifier
	maxBodyBytes int64
	log          *slog.Logger
}

// New returns the REST service over store with the MAX_BODY_BYTES limit. tokens checks the bearer token
// of the event requests; nil when AUTH_ENABLED is off.
func New(store Store, tokens *auth.Verifier, maxBodyBytes int64, log *slog.Logger) *Service {
	return &Service{store: store, tokens: tokens, maxBodyBytes: maxBodyBytes, log: log}
}

// Authenticate is the first rule of the two POST routes: with auth on, the Authorization header must
// carry a valid bearer token, else 401 with WWW-Authenticate: Bearer. It reads nothing but the header.
// ok is false when resp is the answer.
func (s *Service) Authenticate(authorization string) (resp Response, ok bool) {
	switch err := s.tokens.Check(authorization); {
	case err == nil:
		return Response{}, true
	case errors.Is(err, auth.ErrMissingToken):
		return unauthorized(auth.MsgMissingToken), false
	default:
		return unauthorized(auth.MsgInvalidToken), false
	}
}

func unauthorized(message string) Response {
	resp := Error(http.StatusUnauthorized, message)
	resp.Headers = map[string]string{"WWW-Authenticate": auth.Challenge}
	return resp
}

// MaxBodyBytes is the body limit the service was configured with.
func (s *Service) MaxBodyBytes() int64 { return s.maxBodyBytes }

// CheckPost applies the rules that come after authentication and before validation, in the contract's
// order: content type (415), then size (413). bodySize is the body's length, or -1 if not known yet (a streaming server checks the
// size while reading). ok is false when resp is the answer.
func (s *Service) CheckPost(contentType string, bodySize int64) (resp Response, ok bool) {
	if !IsJSONContentType(contentType) {
		return Error(http.StatusUnsupportedMediaType, MsgUnsupportedContentType), false
	}
	if bodySize > s.maxBodyBytes {
		return s.TooLarge(), false
	}
	return Response{}, true
}

// TooLarge is the 413 answer.
func (s *Service) TooLarge() Response {
	return Error(http.StatusRequestEntityTooLarge, MsgBodyTooLarge(s.maxBodyBytes))
}

// PostEvent answers POST /api/v1/events for a body that passed CheckPost.
func (s *Service) PostEvent(ctx context.Context, body []byte) Response {
	ev, err := event.ParseJSON(body)
	if err != nil {
		return s.failure(err)
	}
	duplicate, err := s.store.SaveEvent(ctx, ev)
	if err != nil {
		return s.failure(err)
	}
	result := EventResult{Success: true, Message: msgProcessed, EventUUID: ev.NormalizedUUID(),
		EntityCount: len(ev.Entities), Duplicate: duplicate}
	if duplicate {
		result.Message = msgDuplicate
	}
	return Response{Status: http.StatusOK, Body: result}
}

// PostBulk answers POST /api/v1/events/bulk for a body that passed CheckPost. Each item is validated and
// written on its own; the first database failure ends the batch (items already committed stay).
func (s *Service) PostBulk(ctx context.Context, body []byte) Response {
	started := time.Now()
	items, err := event.ParseBulkJSON(body)
	if err != nil {
		return s.failure(err)
	}
	result := BulkResult{Message: msgBatchProcessed, BatchID: uuid.NewString(), Errors: []BulkError{}}
	for i, item := range items {
		ev, err := event.FromJSONValue(item)
		if err != nil {
			var invalid *event.ValidationError
			if !errors.As(err, &invalid) {
				return s.failure(err)
			}
			result.FailedCount++
			result.Errors = append(result.Errors, BulkError{Index: i, Error: invalid.Message, Status: http.StatusBadRequest})
			continue
		}
		duplicate, err := s.store.SaveEvent(ctx, ev)
		switch {
		case errors.Is(err, store.ErrUnstorable):
			// Rejected by the database as data, rolled back: this item failed like an invalid one.
			result.FailedCount++
			result.Errors = append(result.Errors, BulkError{Index: i, Error: event.MsgUnstorable, Status: http.StatusBadRequest})
		case err != nil:
			return s.failure(err)
		case duplicate:
			result.DuplicateCount++
		default:
			result.ProcessedCount++
		}
	}
	result.Success = result.FailedCount == 0
	result.ProcessingTimeMs = time.Since(started).Milliseconds()
	return Response{Status: http.StatusOK, Body: result}
}

// Health answers GET /api/v1/events/health.
func (s *Service) Health(ctx context.Context) Response {
	if err := s.store.Ping(ctx); err != nil {
		s.log.Debug("health check failed", "error", err)
		return Error(http.StatusServiceUnavailable, MsgUnavailable)
	}
	return Response{Status: http.StatusOK, Body: HealthBody{Status: "healthy"}}
}

// failure maps an error to its answer: validation and a value the database cannot store 400, database
// unavailable 503, anything else 500 without details (those go to the log).
func (s *Service) failure(err error) Response {
	var invalid *event.ValidationError
	switch {
	case errors.As(err, &invalid):
		return Error(http.StatusBadRequest, invalid.Message)
	case errors.Is(err, store.ErrUnstorable):
		s.log.Debug("value rejected by the database", "error", err)
		return Error(http.StatusBadRequest, event.MsgUnstorable)
	case errors.Is(err, store.ErrUnavailable):
		s.log.Debug("database unavailable", "error", err)
		return Error(http.StatusServiceUnavailable, MsgUnavailable)
	default:
		s.log.Error("request failed", "error", err)
		return Error(http.StatusInternalServerError, MsgInternal)
	}
}
