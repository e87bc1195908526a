package asciifold

import "testing"

func TestEqual(t *testing.T) {
	cases := []struct {
		b, s string
		want bool
	}{
		{"Content-Length", "content-length", true},
		{"GRPC-STATUS", "grpc-status", true},
		{"chunked", "chunked", true},
		{"chunkeD", "chunked", true},
		{"chunke", "chunked", false},
		{"content-lengtx", "content-length", false},
		{"", "", true},
		{"é", "É", false}, // ASCII only
	}
	for _, c := range cases {
		if got := Equal([]byte(c.b), c.s); got != c.want {
			t.Errorf("Equal(%q, %q) = %v, want %v", c.b, c.s, got, c.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { Equal([]byte("Content-Length"), "content-length") }); n != 0 {
		t.Errorf("Equal allocates %v times", n)
	}
}
