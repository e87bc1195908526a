package client

import (
	"context"
	"fmt"
	"time"

	"github.com/perflab/apilab/internal/pb"
	"github.com/perflab/apilab/tools/loadgen/internal/payload"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

// processEvent is the full method name of EventService.ProcessEvent.
var processEvent = pb.EventService_ProcessEvent_FullMethodName

type grpcClient struct {
	conn    *grpc.ClientConn
	timeout time.Duration
	md      metadata.MD // the bearer token's metadata, or nil
	resp    eventResponse
}

// Close does nothing: ClientConns may be shared by VUs; the Factory closes them.
func (c *grpcClient) Close() {}

func (c *grpcClient) Prepare(s *payload.Stream) Request {
	msg := s.Next(payload.ProtoMessage)
	return Request{Body: msg, Bytes: len(msg)}
}

// rawCodec sends the pre-encoded EventRequest bytes as they are and reads only what the check needs
// from the EventResponse (field 1, success), so no message is marshalled or allocated per call. Its
// name is "proto": on the wire it is the usual application/grpc+proto.
type rawCodec struct{}

var _ encoding.CodecV2 = rawCodec{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.(*rawMessage)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(*b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	r, ok := v.(*eventResponse)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	if len(data) == 1 {
		return r.decode(data[0].ReadOnlyData())
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	return r.decode(buf.ReadOnlyData())
}

type rawMessage []byte

// eventResponse is the part of pb.EventResponse the check reads.
type eventResponse struct {
	success bool
}

// decode reads an EventResponse's wire format, validating every field and keeping success.
func (r *eventResponse) decode(b []byte) error {
	r.success = false
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if num == 1 && typ == protowire.VarintType {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			r.success = v != 0
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
	}
	return nil
}

var callOptions = []grpc.CallOption{grpc.ForceCodecV2(rawCodec{})}

func (c *grpcClient) Send(parent context.Context, req Request) Outcome {
	ctx, cancel := context.WithTimeout(parent, c.timeout)
	defer cancel()
	if c.md != nil {
		ctx = metadata.NewOutgoingContext(ctx, c.md)
	}
	msg := rawMessage(req.Body)
	err := c.conn.Invoke(ctx, processEvent, &msg, &c.resp, callOptions...)
	if err == nil {
		return grpcOutcome(parent, codes.OK, "", &c.resp.success)
	}
	st, _ := status.FromError(err) // non-status errors become UNKNOWN
	return grpcOutcome(parent, st.Code(), st.Message(), nil)
}
