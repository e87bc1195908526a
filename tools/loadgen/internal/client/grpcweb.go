package client

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/perflab/apilab/internal/pb"
	"github.com/perflab/apilab/tools/loadgen/internal/payload"
	"github.com/perflab/apilab/tools/loadgen/internal/stats"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const grpcWebPath = "/com.example.grpc.EventService/ProcessEvent"

// gRPC-Web frame flags: bit 7 set marks the trailers frame, bit 0 compression (never used here).
const (
	frameData     = 0x00
	frameTrailers = 0x80
)

type grpcWebClient struct {
	http    *http.Client
	url     string
	timeout time.Duration
}

// Frame wraps a message in one gRPC length-prefixed frame.
func Frame(flag byte, msg []byte) []byte {
	out := make([]byte, 5+len(msg))
	out[0] = flag
	binary.BigEndian.PutUint32(out[1:5], uint32(len(msg)))
	copy(out[5:], msg)
	return out
}

func (c *grpcWebClient) Prepare(ev *payload.Event) Request {
	msg, err := proto.Marshal(payload.Proto(ev))
	if err != nil {
		panic(fmt.Sprintf("marshal EventRequest: %v", err)) // cannot happen for generated events
	}
	body := Frame(frameData, msg)
	return Request{Body: body, Bytes: len(body)}
}

func (c *grpcWebClient) Send(parent context.Context, req Request) Outcome {
	ctx, cancel := context.WithTimeout(parent, c.timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(req.Body))
	if err != nil {
		return Outcome{Code: "transport", Class: stats.Ambiguous}
	}
	hr.Header.Set("Content-Type", "application/grpc-web+proto")
	hr.Header.Set("Accept", "application/grpc-web+proto")
	hr.Header.Set("X-Grpc-Web", "1")
	resp, err := c.http.Do(hr)
	if err != nil {
		return transportOutcome(parent, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	_ = resp.Body.Close()
	if err != nil {
		return transportOutcome(parent, err)
	}
	if resp.StatusCode != http.StatusOK {
		return httpStatusOutcome(resp.StatusCode)
	}
	st, answer, err := ParseResponse(resp.Header, body)
	if err != nil {
		return Outcome{Code: "bad_response", Class: stats.Ambiguous}
	}
	return grpcOutcome(parent, st, answer)
}

// ParseResponse reads a gRPC-Web answer: an optional data frame with the EventResponse, then the
// trailers frame with grpc-status and grpc-message. A trailers-only answer carries them as headers.
func ParseResponse(h http.Header, body []byte) (*status.Status, *pb.EventResponse, error) {
	var answer *pb.EventResponse
	trailers := map[string]string{}
	sawTrailers := false
	for len(body) > 0 {
		if len(body) < 5 {
			return nil, nil, errors.New("truncated frame header")
		}
		flag, n := body[0], binary.BigEndian.Uint32(body[1:5])
		if uint64(n) > uint64(len(body)-5) {
			return nil, nil, errors.New("truncated frame")
		}
		data := body[5 : 5+n]
		body = body[5+n:]
		switch {
		case flag&frameTrailers != 0:
			sawTrailers = true
			for _, line := range strings.Split(string(data), "\r\n") {
				if k, v, ok := strings.Cut(line, ":"); ok {
					trailers[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
				}
			}
		case flag == frameData:
			if answer != nil {
				return nil, nil, errors.New("more than one data frame")
			}
			answer = &pb.EventResponse{}
			if err := proto.Unmarshal(data, answer); err != nil {
				return nil, nil, fmt.Errorf("EventResponse: %w", err)
			}
		default:
			return nil, nil, fmt.Errorf("unsupported frame flag 0x%02x", flag)
		}
	}
	if !sawTrailers {
		for _, k := range []string{"grpc-status", "grpc-message"} {
			if v := h.Get(textproto.CanonicalMIMEHeaderKey(k)); v != "" {
				trailers[k] = v
			}
		}
	}
	raw, ok := trailers["grpc-status"]
	if !ok {
		return nil, nil, errors.New("no grpc-status")
	}
	code, err := strconv.ParseUint(raw, 10, 32)
	if err != nil {
		return nil, nil, fmt.Errorf("grpc-status %q", raw)
	}
	msg, err := url.PathUnescape(trailers["grpc-message"]) // percent-encoded on the wire
	if err != nil {
		msg = trailers["grpc-message"]
	}
	return status.New(codes.Code(code), msg), answer, nil
}
