package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/perflab/apilab/internal/auth"
	"github.com/perflab/apilab/internal/grpcapi"
	"github.com/perflab/apilab/internal/grpcweb"
	"github.com/perflab/apilab/internal/pb"
	"github.com/perflab/apilab/lambda/internal/apigwevent"
)

// unaryMethod decodes a request message, calls the service and returns the response message.
type unaryMethod func(ctx context.Context, request []byte) (proto.Message, error)

// Handler serves gRPC-Web calls arriving as API Gateway HTTP API events (payload format 2.0).
// The services are the same implementations the gRPC container API registers.
type Handler struct {
	methods    map[string]unaryMethod
	tokens     *auth.Verifier
	maxMessage int
}

// NewHandler routes the EventService and the standard health service. tokens checks the bearer token of
// ProcessEvent calls (nil: auth off). maxMessage is MAX_BODY_BYTES, the largest request message accepted.
func NewHandler(service pb.EventServiceServer, health healthpb.HealthServer, tokens *auth.Verifier, maxMessage int) *Handler {
	methods := map[string]unaryMethod{
		"/" + pb.EventService_ServiceDesc.ServiceName + "/ProcessEvent": func(ctx context.Context, in []byte) (proto.Message, error) {
			req := &pb.EventRequest{}
			if err := proto.Unmarshal(in, req); err != nil {
				return nil, invalidMessage
			}
			return service.ProcessEvent(ctx, req)
		},
		"/" + pb.EventService_ServiceDesc.ServiceName + "/HealthCheck": func(ctx context.Context, in []byte) (proto.Message, error) {
			req := &pb.HealthRequest{}
			if err := proto.Unmarshal(in, req); err != nil {
				return nil, invalidMessage
			}
			return service.HealthCheck(ctx, req)
		},
		"/" + healthpb.Health_ServiceDesc.ServiceName + "/Check": func(ctx context.Context, in []byte) (proto.Message, error) {
			req := &healthpb.HealthCheckRequest{}
			if err := proto.Unmarshal(in, req); err != nil {
				return nil, invalidMessage
			}
			return health.Check(ctx, req)
		},
	}
	return &Handler{methods: methods, tokens: tokens, maxMessage: maxMessage}
}

var invalidMessage = status.Error(codes.InvalidArgument, "grpc-web: request message does not decode as protobuf")

// Handle answers one invocation. HTTP-level errors are only for requests that are not gRPC-Web
// (wrong method: 405, wrong content type: 415); everything else, framing problems included, is a
// gRPC status in the trailers frame of an HTTP 200 answer.
func (h *Handler) Handle(ctx context.Context, event events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if apigwevent.Method(event) != http.MethodPost {
		return httpError(http.StatusMethodNotAllowed, "method not allowed"), nil
	}
	mode, ok := grpcweb.ParseContentType(apigwevent.Header(event, "content-type"))
	if !ok {
		return httpError(http.StatusUnsupportedMediaType,
			"unsupported content type: use application/grpc-web+proto or application/grpc-web-text"), nil
	}
	path := apigwevent.Path(event)
	method, known := h.methods[path]
	if !known {
		return h.reply(mode, nil, status.Newf(codes.Unimplemented, "unknown method %s", path)), nil
	}
	// As the gRPC server's tap: the token of ProcessEvent before anything of the body is read.
	if path == grpcapi.ProcessEventMethod {
		if st := grpcapi.AuthStatus(h.tokens, apigwevent.Header(event, "authorization")); st != nil {
			return h.reply(mode, nil, st), nil
		}
	}
	body, err := apigwevent.Body(event)
	if err != nil {
		return h.reply(mode, nil, status.New(codes.InvalidArgument, "grpc-web: request body is not valid base64")), nil
	}
	request, err := grpcweb.DecodeRequest(mode, body, h.maxMessage)
	if err != nil {
		return h.reply(mode, nil, toStatus(err)), nil
	}
	response, err := method(ctx, request)
	if err != nil {
		return h.reply(mode, nil, toStatus(err)), nil
	}
	out, err := proto.Marshal(response)
	if err != nil {
		return h.reply(mode, nil, status.New(codes.Internal, "internal error")), nil
	}
	return h.reply(mode, out, status.New(codes.OK, "")), nil
}

// toStatus keeps gRPC statuses and maps anything else as the contract says: INTERNAL with a
// message that reveals no internals.
func toStatus(err error) *status.Status {
	if st, ok := status.FromError(err); ok {
		return st
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, "canceled")
	}
	return status.New(codes.Internal, "internal error")
}

func (h *Handler) reply(mode grpcweb.Mode, message []byte, st *status.Status) events.APIGatewayV2HTTPResponse {
	body := grpcweb.EncodeResponse(mode, message, st)
	resp := events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusOK,
		Headers:    map[string]string{"content-type": mode.ResponseContentType()},
	}
	if mode == grpcweb.Text {
		resp.Body = string(body) // already base64 text
	} else {
		resp.Body = base64.StdEncoding.EncodeToString(body)
		resp.IsBase64Encoded = true
	}
	return resp
}

// httpError answers in the lab's error format for requests that are not gRPC-Web calls at all.
func httpError(code int, message string) events.APIGatewayV2HTTPResponse {
	body, _ := json.Marshal(map[string]any{"error": message, "status": code})
	return events.APIGatewayV2HTTPResponse{
		StatusCode: code,
		Headers:    map[string]string{"content-type": "application/json"},
		Body:       string(body),
	}
}
