package client

import (
	"context"
	"time"

	"github.com/perflab/apilab/internal/pb"
	"github.com/perflab/apilab/tools/loadgen/internal/payload"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

type grpcClient struct {
	stub    pb.EventServiceClient
	timeout time.Duration
}

func (c *grpcClient) Prepare(ev *payload.Event) Request {
	msg := payload.Proto(ev)
	return Request{Msg: msg, Bytes: proto.Size(msg)}
}

func (c *grpcClient) Send(parent context.Context, req Request) Outcome {
	ctx, cancel := context.WithTimeout(parent, c.timeout)
	defer cancel()
	resp, err := c.stub.ProcessEvent(ctx, req.Msg)
	st, _ := status.FromError(err) // non-status errors become UNKNOWN
	return grpcOutcome(parent, st, resp)
}
