// Package grpcweb is the lab's one gRPC-Web codec: the wire format (length-prefixed data and
// trailers frames, binary or base64 "text" mode) of a unary call carried by an HTTP request/response
// pair, as in https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md, for both ends: the
// server side (DecodeRequest, EncodeResponse: the gRPC-Web Lambda) and the client side
// (EncodeRequest, AppendFrame, DecodeResponse: the load generator).
//
// Server side: framing problems are answered as gRPC statuses (HTTP 200 with a trailers frame),
// never as HTTP errors, so a gRPC-Web client always sees a status code and a message. Only a
// content type that is not gRPC-Web is an HTTP-level error (415), because then the client is not
// speaking gRPC-Web at all.
package grpcweb

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/perflab/apilab/internal/asciifold"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Frame layout: one flags byte, a 4-byte big-endian length, the payload.
const (
	HeaderLen = 5
	// FlagData marks a message frame (no flag set).
	FlagData = 0x00
	// FlagCompressed (bit 0) marks a compressed message: never used by the lab, refused on input.
	FlagCompressed = 0x01
	// FlagTrailers (bit 7) marks the trailers frame: "name:value\r\n" lines.
	FlagTrailers = 0x80
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
	if len(body) < HeaderLen {
		return nil, status.Error(codes.InvalidArgument, "grpc-web: truncated frame header")
	}
	flags := body[0]
	length := binary.BigEndian.Uint32(body[1:HeaderLen])
	switch {
	case flags&FlagTrailers != 0:
		return nil, status.Error(codes.InvalidArgument, "grpc-web: expected a message frame, got a trailers frame")
	case flags&FlagCompressed != 0:
		return nil, status.Error(codes.InvalidArgument, "grpc-web: compressed messages are not supported")
	case flags != 0:
		return nil, status.Errorf(codes.InvalidArgument, "grpc-web: unknown frame flags 0x%02x", flags)
	}
	// Same wording as grpc-go's own limit, which the contract names for gRPC.
	if uint64(length) > uint64(maxMessage) {
		return nil, status.Errorf(codes.ResourceExhausted,
			"grpc: received message larger than max (%d vs. %d)", length, maxMessage)
	}
	rest := body[HeaderLen:]
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
	writeFrame(&buf, FlagTrailers, []byte(trailers))
	if mode == Text {
		return []byte(base64.StdEncoding.EncodeToString(buf.Bytes()))
	}
	return buf.Bytes()
}

func writeFrame(buf *bytes.Buffer, flags byte, payload []byte) {
	buf.Write(AppendFrame(buf.AvailableBuffer(), flags, payload))
}

// AppendFrame appends one frame (header and payload) to dst.
func AppendFrame(dst []byte, flags byte, payload []byte) []byte {
	dst = append(dst, flags, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(dst[len(dst)-4:], uint32(len(payload)))
	return append(dst, payload...)
}

// EncodeRequest builds a unary request body: one data frame with msg; base64 in Text mode.
func EncodeRequest(mode Mode, msg []byte) []byte {
	body := AppendFrame(make([]byte, 0, HeaderLen+len(msg)), FlagData, msg)
	if mode == Text {
		return []byte(base64.StdEncoding.EncodeToString(body))
	}
	return body
}

// Response is a decoded unary answer.
type Response struct {
	// Message is the data frame's message (a slice of the body), nil when the answer had none.
	Message []byte
	// Code and StatusMessage come from the trailers frame, or from the HTTP headers of a
	// trailers-only answer; StatusMessage is percent-decoded.
	Code          codes.Code
	StatusMessage string
}

// Status returns the answer's status.
func (r Response) Status() *status.Status { return status.New(r.Code, r.StatusMessage) }

// DecodeResponse reads a unary answer: at most one data frame, then the trailers frame with
// grpc-status and grpc-message. Without a trailers frame (a trailers-only answer) the status comes
// from header (the HTTP response headers; nil for none). Errors mean the body is not a gRPC-Web
// answer: a truncated frame, a second data frame, a compressed or unknown frame, no grpc-status.
// Binary bodies are not copied; decoding allocates only for an error message or a Text body.
func DecodeResponse(mode Mode, body []byte, header http.Header) (Response, error) {
	var r Response
	if mode == Text {
		decoded, err := decodeTextBody(body)
		if err != nil {
			return r, errors.New("grpc-web: response body is not valid base64")
		}
		body = decoded
	}
	sawData, sawTrailers, sawStatus := false, false, false
	for len(body) > 0 {
		if len(body) < HeaderLen {
			return r, errors.New("grpc-web: truncated frame header")
		}
		flags, n := body[0], binary.BigEndian.Uint32(body[1:HeaderLen])
		if uint64(n) > uint64(len(body)-HeaderLen) {
			return r, errors.New("grpc-web: truncated frame")
		}
		data := body[HeaderLen : HeaderLen+n]
		body = body[HeaderLen+n:]
		switch {
		case flags&FlagTrailers != 0:
			sawTrailers = true
			for len(data) > 0 {
				var line []byte
				line, data, _ = bytes.Cut(data, []byte("\r\n"))
				k, v, ok := bytes.Cut(line, []byte(":"))
				if !ok {
					continue
				}
				k, v = bytes.TrimSpace(k), bytes.TrimSpace(v)
				switch {
				case asciifold.Equal(k, "grpc-status"):
					code, ok := parseCode(v)
					if !ok {
						return r, fmt.Errorf("grpc-web: grpc-status %q", v)
					}
					r.Code, sawStatus = code, true
				case asciifold.Equal(k, "grpc-message"):
					if len(v) > 0 {
						r.StatusMessage = DecodeGrpcMessage(string(v))
					}
				}
			}
		case flags == FlagData:
			if sawData {
				return r, errors.New("grpc-web: more than one data frame")
			}
			sawData, r.Message = true, data
		default:
			return r, fmt.Errorf("grpc-web: unsupported frame flags 0x%02x", flags)
		}
	}
	if !sawTrailers && header != nil {
		if v := header.Get("Grpc-Status"); v != "" {
			code, ok := parseCode([]byte(strings.TrimSpace(v)))
			if !ok {
				return r, fmt.Errorf("grpc-web: grpc-status %q", v)
			}
			r.Code, sawStatus = code, true
			r.StatusMessage = DecodeGrpcMessage(strings.TrimSpace(header.Get("Grpc-Message")))
		}
	}
	if !sawStatus {
		return r, errors.New("grpc-web: no grpc-status")
	}
	return r, nil
}

func parseCode(b []byte) (codes.Code, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := uint32(0)
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint32(c-'0')
	}
	return codes.Code(n), true
}

// DecodeGrpcMessage undoes EncodeGrpcMessage: %XX sequences become their bytes; a malformed
// sequence is kept as it is (the protocol asks receivers to keep what they cannot decode).
func DecodeGrpcMessage(msg string) string {
	if !strings.Contains(msg, "%") {
		return msg
	}
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		if msg[i] == '%' && i+2 < len(msg) && isHex(msg[i+1]) && isHex(msg[i+2]) {
			b.WriteByte(unhex(msg[i+1])<<4 | unhex(msg[i+2]))
			i += 2
			continue
		}
		b.WriteByte(msg[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
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
