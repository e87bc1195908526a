package main

import (
	"context"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/perflab/apilab/internal/event"
	"github.com/perflab/apilab/internal/httpapi"
	"github.com/perflab/apilab/lambda/internal/apigwevent"
)

// Handler serves the REST contract from API Gateway HTTP API events (payload format 2.0,
// routes `ANY /` and `ANY /{proxy+}`), with the same service the container REST API uses.
type Handler struct {
	service *httpapi.Service
}

// NewHandler wraps the REST service.
func NewHandler(service *httpapi.Service) *Handler {
	return &Handler{service: service}
}

// Handle answers one invocation. Every answer, errors included, is a full payload 2.0 response:
// the function never fails an invocation for a bad request.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return respond(h.route(ctx, req)), nil
}

func (h *Handler) route(ctx context.Context, req events.APIGatewayV2HTTPRequest) httpapi.Response {
	method := apigwevent.Method(req)
	switch apigwevent.Path(req) {
	case httpapi.EventsPath:
		if method != http.MethodPost {
			return httpapi.Error(http.StatusMethodNotAllowed, httpapi.MsgMethodNotAllowed)
		}
		return h.post(ctx, req, h.service.PostEvent)
	case httpapi.BulkPath:
		if method != http.MethodPost {
			return httpapi.Error(http.StatusMethodNotAllowed, httpapi.MsgMethodNotAllowed)
		}
		return h.post(ctx, req, h.service.PostBulk)
	case httpapi.HealthPath:
		if method != http.MethodGet {
			return httpapi.Error(http.StatusMethodNotAllowed, httpapi.MsgMethodNotAllowed)
		}
		return h.service.Health(ctx)
	}
	return httpapi.Error(http.StatusNotFound, httpapi.MsgNotFound)
}

func (h *Handler) post(ctx context.Context, req events.APIGatewayV2HTTPRequest,
	process func(context.Context, []byte) httpapi.Response) httpapi.Response {
	// The token first: a request without one gets 401 whatever its content type or body.
	if resp, ok := h.service.Authenticate(apigwevent.Header(req, "authorization")); !ok {
		return resp
	}
	contentType := apigwevent.Header(req, "content-type")
	// 415 comes before anything about the body, as in the container API.
	if resp, ok := h.service.CheckPost(contentType, 0); !ok {
		return resp
	}
	body, err := apigwevent.Body(req)
	if err != nil {
		// Only a broken gateway sends invalid base64; the body is unreadable, so it is not JSON.
		return httpapi.Error(http.StatusBadRequest, event.MsgMalformedJSON)
	}
	if resp, ok := h.service.CheckPost(contentType, int64(len(body))); !ok {
		return resp
	}
	return process(ctx, body)
}

func respond(r httpapi.Response) events.APIGatewayV2HTTPResponse {
	headers := map[string]string{"content-type": "application/json"}
	for name, value := range r.Headers {
		headers[strings.ToLower(name)] = value
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: r.Status, Headers: headers, Body: string(r.JSON())}
}
