package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/perflab/apilab/internal/grpcweb"
	"github.com/perflab/apilab/internal/pb"
	"github.com/perflab/apilab/tools/loadgen/internal/payload"
	"github.com/perflab/apilab/tools/loadgen/internal/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const grpcWebPath = "/com.example.grpc.EventService/ProcessEvent"

// grpcWebClient speaks gRPC-Web (binary mode) with the lab's one codec, internal/grpcweb, the one
// the gRPC-Web Lambda answers with.
type grpcWebClient struct {
	http *httpConn
	resp eventResponse
}

func (c *grpcWebClient) Close() { c.http.close() }

func (c *grpcWebClient) Prepare(s *payload.Stream) Request {
	body := s.Next(payload.GRPCWebFrame)
	return Request{Body: body, Bytes: len(body)}
}

func (c *grpcWebClient) Send(parent context.Context, req Request) Outcome {
	ans, err := c.http.do(parent, req.Body)
	if err != nil {
		return transportOutcome(parent, err)
	}
	if ans.status != 200 {
		return httpStatusOutcome(ans.status)
	}
	var h http.Header
	if ans.hasGrpc { // trailers-only answer
		h = http.Header{"Grpc-Status": {ans.grpcStatus}, "Grpc-Message": {ans.grpcMessage}}
	}
	r, err := grpcweb.DecodeResponse(grpcweb.Binary, ans.body, h)
	if err != nil {
		return Outcome{Code: "bad_response", Class: stats.Ambiguous}
	}
	var success *bool
	if r.Message != nil {
		if err := c.resp.decode(r.Message); err != nil {
			return Outcome{Code: "bad_response", Class: stats.Ambiguous}
		}
		success = &c.resp.success
	}
	return grpcOutcome(parent, r.Code, r.StatusMessage, success)
}

// ParseResponse reads a whole gRPC-Web answer into a status and the EventResponse (nil without a
// data frame); h holds the HTTP headers of a trailers-only answer.
func ParseResponse(h http.Header, body []byte) (*status.Status, *pb.EventResponse, error) {
	r, err := grpcweb.DecodeResponse(grpcweb.Binary, body, h)
	if err != nil {
		return nil, nil, err
	}
	var answer *pb.EventResponse
	if r.Message != nil {
		answer = &pb.EventResponse{}
		if err := proto.Unmarshal(r.Message, answer); err != nil {
			return nil, nil, fmt.Errorf("EventResponse: %w", err)
		}
	}
	return r.Status(), answer, nil
}
