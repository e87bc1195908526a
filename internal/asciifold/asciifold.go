// Package asciifold compares protocol tokens (HTTP header names and values, gRPC trailer keys)
// ASCII-case-insensitively without allocating: the hot paths of the load generator's HTTP client and
// the gRPC-Web codec read them from byte slices.
package asciifold

// Equal reports whether b equals s, ignoring ASCII case.
func Equal(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
