// Package grpcweb reads and writes the gRPC-Web wire format (length-prefixed frames, binary or
// base64 "text" mode) for a unary call carried by an HTTP request/response pair, as in
// https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md.
//
// Framing problems are answered as gRPC statuses (HTTP 200 with a trailers frame), never as
// HTTP errors, so a gRPC-Web client always sees a status code and a message. Only a content type
// that is not gRPC-Web is an HTTP-level error (415), because then the client is not speaking
// gRPC-Web at all.
package grpcweb

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	frameHeaderLen = 5
	flagCompressed = 0x01
	flagTrailers   = 0x80
)

// Mode is the body encoding of a gRPC-Web call.
type Mode int

const (
	// Binary is application/grpc-web[+proto]: frames as raw bytes.
	Binary Mode = iota
	// Text is application/grpc-web-text[+proto]: frames base64-encoded.
	Text
)

// ResponseContentType is the content type answered for a call in this mode.
func (m Mode) ResponseContentType() string {
	if m == Text {
		return "application/grpc-web-text+proto"
	}
	return "application/grpc-web+proto"
}

// ParseContentType tells the mode of a request's Content-Type, or ok=false when it is not a
// gRPC-Web protobuf content type (the caller answers HTTP 415). Parameters are ignored and the
// media type is compared case-insensitively.
func ParseContentType(contentType string) (mode Mode, ok bool) {
	mediaType, _, _ := strings.Cut(contentType, ";")
	switch strings.ToLower(strings.TrimSpace(mediaType)) {
	case "application/grpc-web", "application/grpc-web+proto":
		return Binary, true
	case "application/grpc-web-text", "application/grpc-web-text+proto":
		return Text, true
	}
	return Binary, false
}

// DecodeRequest extracts the single message of a unary call from a request body (already
// base64-decoded by the HTTP layer if the transport required it). maxMessage is the largest
// message accepted. Errors are gRPC statuses: INVALID_ARGUMENT for anything that is not exactly
// one complete, uncompressed data frame, RESOURCE_EXHAUSTED for a message over maxMessage.
func DecodeRequest(mode Mode, body []byte, maxMessage int) ([]byte, error) {
	if mode == Text {
		decoded, err := decodeTextBody(body)
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, "grpc-web: request body is not valid base64")
		}
		body = decoded
	}
	if len(body) == 0 {
		return nil, status.Error(codes.InvalidArgument, "grpc-web: empty request body, expected one message frame")
	}
	if len(body) < frameHeaderLen {
		return nil, status.Error(codes.InvalidArgument, "grpc-web: truncated frame header")
	}
	flags := body[0]
	length := binary.BigEndian.Uint32(body[1:frameHeaderLen])
	switch {
	case flags&flagTrailers != 0:
		return nil, status.Error(codes.InvalidArgument, "grpc-web: expected a message frame, got a trailers frame")
	case flags&flagCompressed != 0:
		return nil, status.Error(codes.InvalidArgument, "grpc-web: compressed messages are not supported")
	case flags != 0:
		return nil, status.Errorf(codes.InvalidArgument, "grpc-web: unknown frame flags 0x%02x", flags)
	}
	// Same wording as grpc-go's own limit, which the contract names for gRPC.
	if uint64(length) > uint64(maxMessage) {
		return nil, status.Errorf(codes.ResourceExhausted,
			"grpc: received message larger than max (%d vs. %d)", length, maxMessage)
	}
	rest := body[frameHeaderLen:]
	if uint64(len(rest)) < uint64(length) {
		return nil, status.Errorf(codes.InvalidArgument,
			"grpc-web: truncated message frame (%d of %d bytes)", len(rest), length)
	}
	if uint64(len(rest)) > uint64(length) {
		return nil, status.Error(codes.InvalidArgument, "grpc-web: more than one frame in a unary request")
	}
	return rest, nil
}

// decodeTextBody decodes a grpc-web-text body. Clients may base64-encode each frame (or chunk)
// separately and concatenate the results, so padding can occur inside the body: decode it one
// padded segment at a time.
func decodeTextBody(body []byte) ([]byte, error) {
	body = bytes.Join(bytes.Fields(body), nil)
	var out []byte
	for len(body) > 0 {
		end := len(body)
		if i := bytes.IndexByte(body, '='); i >= 0 {
			end = i
			for end < len(body) && body[end] == '=' {
				end++
			}
		}
		segment := body[:end]
		body = body[end:]
		decoded := make([]byte, base64.StdEncoding.DecodedLen(len(segment)))
		n, err := base64.StdEncoding.Strict().Decode(decoded, segment)
		if err != nil {
			return nil, err
		}
		out = append(out, decoded[:n]...)
	}
	return out, nil
}

// EncodeResponse builds a response body: a message frame when msg is not nil (only for OK), then
// a trailers frame carrying st. In Text mode the whole body is base64-encoded.
func EncodeResponse(mode Mode, msg []byte, st *status.Status) []byte {
	var buf bytes.Buffer
	if msg != nil && st.Code() == codes.OK {
		writeFrame(&buf, 0, msg)
	}
	trailers := "grpc-status:" + strconv.Itoa(int(st.Code())) + "\r\n" +
		"grpc-message:" + EncodeGrpcMessage(st.Message()) + "\r\n"
	writeFrame(&buf, flagTrailers, []byte(trailers))
	if mode == Text {
		return []byte(base64.StdEncoding.EncodeToString(buf.Bytes()))
	}
	return buf.Bytes()
}

func writeFrame(buf *bytes.Buffer, flags byte, payload []byte) {
	var header [frameHeaderLen]byte
	header[0] = flags
	binary.BigEndian.PutUint32(header[1:], uint32(len(payload)))
	buf.Write(header[:])
	buf.Write(payload)
}

// EncodeGrpcMessage percent-encodes a grpc-message value as the gRPC HTTP/2 protocol requires:
// every byte outside printable ASCII, and '%' itself.
func EncodeGrpcMessage(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c >= 0x20 && c <= 0x7e && c != '%' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
