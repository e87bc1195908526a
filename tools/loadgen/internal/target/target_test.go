package target

import "testing"

func TestLoopbackOnly(t *testing.T) {
	ok := []struct{ proto, raw, base, addr string }{
		{"rest", "http://127.0.0.1:19083", "http://127.0.0.1:19083", "127.0.0.1:19083"},
		{"rest", "http://localhost:8080/", "http://localhost:8080", "localhost:8080"},
		{"grpcweb", "http://127.3.2.1:9", "http://127.3.2.1:9", "127.3.2.1:9"},
		{"grpc", "127.0.0.1:19092", "http://127.0.0.1:19092", "127.0.0.1:19092"},
		{"grpc", "[::1]:9090", "http://[::1]:9090", "[::1]:9090"},
	}
	for _, c := range ok {
		got, err := Parse(c.proto, c.raw, false)
		if err != nil || got.BaseURL != c.base || got.Address != c.addr {
			t.Errorf("Parse(%s, %s) = %+v, %v", c.proto, c.raw, got, err)
		}
	}
	refused := []struct{ proto, raw string }{
		{"rest", "http://10.0.0.5:8080"},
		{"rest", "http://192.168.1.1"},
		{"rest", "https://abc.execute-api.eu-west-1.amazonaws.com"},
		{"grpc", "8.8.8.8:443"},
		{"grpc", "example.com:9090"},
		{"rest", "http://127.0.0.1.nip.io:80"},
		{"rest", "http://0.0.0.0:80"},
	}
	for _, c := range refused {
		if _, err := Parse(c.proto, c.raw, false); err == nil {
			t.Errorf("Parse(%s, %s) accepted a non-loopback target", c.proto, c.raw)
		}
	}
	remote, err := Parse("rest", "https://abc.execute-api.eu-west-1.amazonaws.com", true)
	if err != nil || !remote.TLS || remote.Address != "abc.execute-api.eu-west-1.amazonaws.com:443" {
		t.Errorf("--allow-remote: %+v %v", remote, err)
	}
}

func TestMalformed(t *testing.T) {
	for _, raw := range []string{"", "127.0.0.1:80", "ftp://127.0.0.1:21", "http://127.0.0.1:80/api/v1/events"} {
		if _, err := Parse("rest", raw, false); err == nil {
			t.Errorf("Parse(rest, %q) accepted", raw)
		}
	}
}
