package grpcweb

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func frame(flags byte, payload []byte) []byte {
	out := make([]byte, 5, 5+len(payload))
	out[0] = flags
	binary.BigEndian.PutUint32(out[1:5], uint32(len(payload)))
	return append(out, payload...)
}

func TestParseContentType(t *testing.T) {
	cases := map[string]struct {
		mode Mode
		ok   bool
	}{
		"application/grpc-web":                  {Binary, true},
		"application/grpc-web+proto":            {Binary, true},
		"Application/GRPC-Web+Proto; charset=x": {Binary, true},
		"application/grpc-web-text":             {Text, true},
		"application/grpc-web-text+proto":       {Text, true},
		"application/grpc":                      {Binary, false},
		"application/grpc-web+json":             {Binary, false},
		"application/json":                      {Binary, false},
		"":                                      {Binary, false},
	}
	for contentType, want := range cases {
		mode, ok := ParseContentType(contentType)
		if ok != want.ok || (ok && mode != want.mode) {
			t.Errorf("ParseContentType(%q) = %v, %v; want %v, %v", contentType, mode, ok, want.mode, want.ok)
		}
	}
}

func TestDecodeRequestOneFrame(t *testing.T) {
	msg := []byte("hello")
	got, err := DecodeRequest(Binary, frame(0, msg), 100)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("got %q, %v", got, err)
	}
	// An empty message is a valid frame (all fields default).
	got, err = DecodeRequest(Binary, frame(0, nil), 100)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty message: got %q, %v", got, err)
	}
}

func TestDecodeRequestText(t *testing.T) {
	msg := []byte("hello, text mode")
	body := []byte(base64.StdEncoding.EncodeToString(frame(0, msg)))
	got, err := DecodeRequest(Text, body, 100)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("got %q, %v", got, err)
	}
	// Chunks encoded separately and concatenated, padding inside the body.
	f := frame(0, []byte("ab"))
	chunked := base64.StdEncoding.EncodeToString(f[:4]) + base64.StdEncoding.EncodeToString(f[4:])
	got, err = DecodeRequest(Text, []byte(chunked), 100)
	if err != nil || string(got) != "ab" {
		t.Fatalf("chunked: got %q, %v", got, err)
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	cases := []struct {
		name string
		mode Mode
		body []byte
		code codes.Code
		msg  string
	}{
		{"empty body", Binary, nil, codes.InvalidArgument, "grpc-web: empty request body, expected one message frame"},
		{"partial header", Binary, []byte{0, 0, 0}, codes.InvalidArgument, "grpc-web: truncated frame header"},
		{"partial message", Binary, frame(0, []byte("hello"))[:8], codes.InvalidArgument, "grpc-web: truncated message frame (3 of 5 bytes)"},
		{"compressed flag", Binary, frame(FlagCompressed, []byte("x")), codes.InvalidArgument, "grpc-web: compressed messages are not supported"},
		{"trailers frame", Binary, frame(FlagTrailers, []byte("x")), codes.InvalidArgument, "grpc-web: expected a message frame, got a trailers frame"},
		{"unknown flag", Binary, frame(0x02, []byte("x")), codes.InvalidArgument, "grpc-web: unknown frame flags 0x02"},
		{"two frames", Binary, append(frame(0, []byte("a")), frame(0, []byte("b"))...), codes.InvalidArgument, "grpc-web: more than one frame in a unary request"},
		{"oversize declared", Binary, frame(0, make([]byte, 11)), codes.ResourceExhausted, "grpc: received message larger than max (11 vs. 10)"},
		{"oversize header only", Binary, []byte{0, 0xff, 0xff, 0xff, 0xff}, codes.ResourceExhausted, "grpc: received message larger than max (4294967295 vs. 10)"},
		{"bad base64", Text, []byte("!!!!"), codes.InvalidArgument, "grpc-web: request body is not valid base64"},
		{"empty text", Text, []byte(""), codes.InvalidArgument, "grpc-web: empty request body, expected one message frame"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeRequest(c.mode, c.body, 10)
			st, _ := status.FromError(err)
			if err == nil || st.Code() != c.code || st.Message() != c.msg {
				t.Fatalf("got %v; want %v %q", err, c.code, c.msg)
			}
		})
	}
}

func TestEncodeResponseOK(t *testing.T) {
	body := EncodeResponse(Binary, []byte("resp"), status.New(codes.OK, ""))
	want := append(frame(0, []byte("resp")), frame(FlagTrailers, []byte("grpc-status:0\r\ngrpc-message:\r\n"))...)
	if !bytes.Equal(body, want) {
		t.Fatalf("got %q\nwant %q", body, want)
	}
}

func TestEncodeResponseErrorHasNoMessageFrame(t *testing.T) {
	body := EncodeResponse(Text, []byte("ignored"), status.New(codes.InvalidArgument, "100% bad\nthing"))
	raw, err := base64.StdEncoding.DecodeString(string(body))
	if err != nil {
		t.Fatal(err)
	}
	want := frame(FlagTrailers, []byte("grpc-status:3\r\ngrpc-message:100%25 bad%0Athing\r\n"))
	if !bytes.Equal(raw, want) {
		t.Fatalf("got %q\nwant %q", raw, want)
	}
}

func TestEncodeGrpcMessageKeepsPrintableASCII(t *testing.T) {
	msg := "eventBody.entities[0].entityType must be a name: a letter, then letters or digits, at most 64 characters"
	if got := EncodeGrpcMessage(msg); got != msg {
		t.Fatalf("got %q", got)
	}
	if got := EncodeGrpcMessage("é"); got != "%C3%A9" {
		t.Fatalf("got %q", got)
	}
}

// The client side: what EncodeResponse writes, DecodeResponse reads back, in both modes.
func TestResponseRoundTrip(t *testing.T) {
	for _, mode := range []Mode{Binary, Text} {
		for _, st := range []*status.Status{status.New(codes.OK, ""), status.New(codes.InvalidArgument, "100% bad\nthing é"),
			status.New(codes.Unavailable, "database unavailable")} {
			body := EncodeResponse(mode, []byte("resp"), st)
			r, err := DecodeResponse(mode, body, nil)
			if err != nil || r.Code != st.Code() || r.StatusMessage != st.Message() {
				t.Fatalf("mode %d %v: got %+v, %v", mode, st, r, err)
			}
			if (st.Code() == codes.OK) != (string(r.Message) == "resp") {
				t.Fatalf("mode %d %v: message %q", mode, st, r.Message)
			}
			if !r.Status().Proto().ProtoReflect().IsValid() || r.Status().Code() != st.Code() {
				t.Fatal("Status()")
			}
		}
	}
}

func TestEncodeRequestIsWhatDecodeRequestReads(t *testing.T) {
	for _, mode := range []Mode{Binary, Text} {
		msg := []byte("an EventRequest")
		got, err := DecodeRequest(mode, EncodeRequest(mode, msg), 100)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("mode %d: %q %v", mode, got, err)
		}
	}
	if f := AppendFrame([]byte("x"), FlagTrailers, []byte("ab")); !bytes.Equal(f, []byte{'x', 0x80, 0, 0, 0, 2, 'a', 'b'}) {
		t.Fatalf("AppendFrame % x", f)
	}
}

func TestDecodeResponseTrailersOnlyAndErrors(t *testing.T) {
	h := http.Header{"Grpc-Status": {"14"}, "Grpc-Message": {"database%20unavailable"}}
	r, err := DecodeResponse(Binary, nil, h)
	if err != nil || r.Code != codes.Unavailable || r.StatusMessage != "database unavailable" || r.Message != nil {
		t.Fatalf("trailers-only: %+v %v", r, err)
	}
	// Header names in the trailers frame are case-insensitive; spaces around values allowed.
	r, err = DecodeResponse(Binary, frame(FlagTrailers, []byte("Grpc-Status: 3\r\nGrpc-Message: eventBody.entities%5B0%5D must be an object\r\n")), nil)
	if err != nil || r.Code != codes.InvalidArgument || r.StatusMessage != "eventBody.entities[0] must be an object" {
		t.Fatalf("trailers: %+v %v", r, err)
	}
	for name, body := range map[string][]byte{
		"truncated header": {0, 0, 0},
		"truncated frame":  {0, 0, 0, 9, 1},
		"two data frames":  append(append(frame(0, []byte("a")), frame(0, []byte("b"))...), frame(FlagTrailers, []byte("grpc-status:0\r\n"))...),
		"compressed":       frame(FlagCompressed, []byte("a")),
		"no status":        frame(0, []byte("a")),
		"bad status":       frame(FlagTrailers, []byte("grpc-status: x\r\n")),
	} {
		if _, err := DecodeResponse(Binary, body, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if got := DecodeGrpcMessage("100%25 bad%0Athing %zz %4"); got != "100% bad\nthing %zz %4" {
		t.Fatalf("DecodeGrpcMessage: %q", got)
	}
}
