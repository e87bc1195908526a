// Package target checks where load may go: the loopback range only, unless --allow-remote (reserved
// for the AWS stack) is given.
package target

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Target is a parsed --target.
type Target struct {
	Raw     string
	BaseURL string // REST and gRPC-Web: scheme://host:port, no trailing slash
	Address string // host:port, for gRPC and the start-up reachability check
	TLS     bool
}

// Parse reads --target for a protocol: a URL (http://127.0.0.1:PORT) for rest and grpcweb, host:port
// (or https://host[:port] for TLS) for grpc. Non-loopback hosts are refused unless allowRemote.
func Parse(protocol, raw string, allowRemote bool) (Target, error) {
	t := Target{Raw: raw}
	s := raw
	if protocol == "grpc" && !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return t, fmt.Errorf("--target %q: want http://HOST:PORT (or HOST:PORT for grpc)", raw)
	}
	switch u.Scheme {
	case "http":
	case "https":
		t.TLS = true
	default:
		return t, fmt.Errorf("--target %q: scheme must be http or https", raw)
	}
	if u.Path != "" && u.Path != "/" {
		return t, fmt.Errorf("--target %q: give the base address only; the tool adds the path", raw)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[bool]string{false: "80", true: "443"}[t.TLS]
	}
	if !allowRemote && !IsLoopback(host) {
		return t, fmt.Errorf("--target %q: refusing a non-loopback host; load goes to 127.0.0.0/8, ::1 or localhost only (--allow-remote is reserved for the AWS stack)", raw)
	}
	t.Address = net.JoinHostPort(host, port)
	t.BaseURL = u.Scheme + "://" + t.Address
	return t, nil
}

// IsLoopback reports whether host is localhost or a loopback IP literal. Other names are not
// resolved: a name could point anywhere later.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
