package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/perflab/apilab/internal/asciifold"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// httpConn is a minimal HTTP/1.1 client of one keep-alive connection, owned by one VU: it POSTs a
// body to one fixed path and reads the whole answer, in the caller's goroutine.
//
// Why not net/http: its Transport hands every request to a write goroutine and every response to a
// read goroutine (two goroutine switches per request) and allocates a Request, header maps, a
// context timer and a Response per call. On the lab's 2-core host that made loadgen cost ~4x wrk's
// CPU per request (see scripts/bench-generator). This client writes the request with one write,
// reads the answer through one reusable bufio.Reader, allocates nothing per request, and bounds
// each request with the connection's deadline. It speaks exactly what the lab's APIs and gateway
// answer with: HTTP/1.x, Content-Length or chunked bodies (or a body up to connection close),
// keep-alive unless "Connection: close"; 1xx interim answers are skipped.
type httpConn struct {
	address string
	tls     *tls.Config // nil: plain TCP
	head    []byte      // request line and fixed headers, up to "Content-Length: "
	timeout time.Duration

	mu       sync.Mutex // guards conn against the cancellation callback
	conn     net.Conn
	raw      syscall.RawConn // the TCP socket under conn (TLS or not), for the idle check
	br       *bufio.Reader
	wbuf     []byte
	body     []byte
	lastUsed time.Time

	bound      context.Context // the context whose cancellation cuts the current request
	stopCancel func() bool
}

// httpAnswer is a response; body is the connection's buffer, valid until the next request.
type httpAnswer struct {
	status      int
	body        []byte
	grpcStatus  string // gRPC-Web trailers-only answers carry these as headers
	grpcMessage string
	hasGrpc     bool
}

// idleCheckAfter: a connection idle for longer is checked for a close by the server before reuse
// (net/http notices that in its background reader; here it costs one non-blocking read).
const idleCheckAfter = time.Second

func newHTTPConn(address, host, path string, useTLS bool, headers [][2]string, timeout time.Duration) *httpConn {
	head := []byte("POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\n")
	for _, h := range headers {
		head = append(head, h[0]+": "+h[1]+"\r\n"...)
	}
	head = append(head, "Content-Length: "...)
	c := &httpConn{address: address, head: head, timeout: timeout}
	if useTLS {
		name, _, _ := net.SplitHostPort(address)
		c.tls = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: name}
	}
	return c
}

// bind makes ctx's cancellation cut whatever request runs (once per context, not per request).
func (c *httpConn) bind(ctx context.Context) {
	if ctx == c.bound {
		return
	}
	if c.stopCancel != nil {
		c.stopCancel()
		c.stopCancel = nil
	}
	c.bound = ctx
	if ctx.Done() != nil {
		c.stopCancel = context.AfterFunc(ctx, func() {
			c.mu.Lock()
			if c.conn != nil {
				_ = c.conn.SetDeadline(time.Unix(1, 0)) // wakes a blocked read or write at once
			}
			c.mu.Unlock()
		})
	}
}

func (c *httpConn) drop() {
	c.mu.Lock()
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
	c.mu.Unlock()
}

// close releases the connection and the cancellation callback.
func (c *httpConn) close() {
	if c.stopCancel != nil {
		c.stopCancel()
		c.stopCancel = nil
	}
	c.drop()
}

func (c *httpConn) dial(ctx context.Context, deadline time.Time) error {
	d := net.Dialer{Deadline: deadline, KeepAlive: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", c.address)
	if err != nil {
		return err
	}
	c.raw = nil
	if tc, ok := conn.(*net.TCPConn); ok {
		c.raw, _ = tc.SyscallConn()
	}
	if c.tls != nil {
		tc := tls.Client(conn, c.tls)
		_ = tc.SetDeadline(deadline)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return err
		}
		conn = tc
	}
	if c.br == nil {
		c.br = bufio.NewReaderSize(conn, 16<<10)
	} else {
		c.br.Reset(conn)
	}
	c.mu.Lock()
	c.conn = conn
	c.mu.Unlock()
	if ctx.Err() != nil { // cancelled while dialling: the callback may have missed this conn
		c.drop()
		return ctx.Err()
	}
	return nil
}

// alive reports whether an idle keep-alive connection is still open: a non-blocking peek at the
// socket finds nothing (no close by the server, no stray bytes such as a TLS close_notify).
func (c *httpConn) alive(deadline time.Time) bool {
	if c.br.Buffered() > 0 || c.raw == nil {
		return c.br.Buffered() == 0
	}
	_ = c.conn.SetDeadline(deadline) // a past deadline would fail the peek before it is tried
	var buf [1]byte
	open := false
	err := c.raw.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true // never wait
	})
	return err == nil && open
}

// do sends one POST with body and reads the answer. Errors are transport errors (the connection is
// dropped; the next request dials again).
func (c *httpConn) do(ctx context.Context, body []byte) (httpAnswer, error) {
	c.bind(ctx)
	if err := ctx.Err(); err != nil {
		return httpAnswer{}, err
	}
	now := time.Now()
	deadline := now.Add(c.timeout)
	if c.conn != nil && now.Sub(c.lastUsed) > idleCheckAfter && !c.alive(deadline) {
		c.drop()
	}
	if c.conn == nil {
		if err := c.dial(ctx, deadline); err != nil {
			return httpAnswer{}, err
		}
	}
	_ = c.conn.SetDeadline(deadline)
	if ctx.Err() != nil { // cancelled between bind and now: the deadline just set would hide it
		c.drop()
		return httpAnswer{}, ctx.Err()
	}
	c.wbuf = append(c.wbuf[:0], c.head...)
	c.wbuf = strconv.AppendInt(c.wbuf, int64(len(body)), 10)
	c.wbuf = append(c.wbuf, "\r\n\r\n"...)
	c.wbuf = append(c.wbuf, body...)
	if _, err := c.conn.Write(c.wbuf); err != nil {
		c.drop()
		return httpAnswer{}, err
	}
	ans, keep, err := c.read()
	if err != nil {
		c.drop()
		return httpAnswer{}, err
	}
	if !keep {
		c.drop()
	}
	c.lastUsed = time.Now()
	return ans, nil
}

var errMalformed = errors.New("malformed HTTP response")

// read reads one response (skipping 1xx interim ones). keep is false when the connection cannot be
// reused.
func (c *httpConn) read() (ans httpAnswer, keep bool, err error) {
	for {
		line, err := c.line()
		if err != nil {
			return ans, false, err
		}
		// "HTTP/1.1 200 OK"
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
			return ans, false, errMalformed
		}
		http10 := line[7] == '0'
		status, ok := atoi(line[9:12])
		if !ok || (len(line) > 12 && line[12] != ' ') {
			return ans, false, errMalformed
		}
		ans = httpAnswer{status: status}
		keep = !http10
		length, chunked := int64(-1), false
		for {
			h, err := c.line()
			if err != nil {
				return ans, false, err
			}
			if len(h) == 0 {
				break
			}
			name, value, found := bytes.Cut(h, []byte(":"))
			if !found {
				return ans, false, errMalformed
			}
			value = bytes.TrimSpace(value)
			switch {
			case asciifold.Equal(name, "content-length"):
				n, ok := atoi(value)
				if !ok {
					return ans, false, errMalformed
				}
				length = int64(n)
			case asciifold.Equal(name, "transfer-encoding"):
				chunked = asciifold.Equal(value, "chunked")
				if !chunked {
					return ans, false, fmt.Errorf("unsupported transfer-encoding %q", value)
				}
			case asciifold.Equal(name, "connection"):
				if asciifold.Equal(value, "close") {
					keep = false
				} else if asciifold.Equal(value, "keep-alive") {
					keep = true
				}
			case asciifold.Equal(name, "grpc-status"):
				ans.grpcStatus, ans.hasGrpc = string(value), true
			case asciifold.Equal(name, "grpc-message"):
				ans.grpcMessage = string(value)
			}
		}
		if status >= 100 && status < 200 && status != 101 {
			continue // interim answer; the real one follows
		}
		c.body = c.body[:0]
		switch {
		case status == 204 || status == 304 || (status >= 100 && status < 200):
		case chunked:
			if err := c.readChunked(); err != nil {
				return ans, false, err
			}
		case length >= 0:
			if length > maxResponse {
				if err := c.readN(maxResponse); err != nil {
					return ans, false, err
				}
				keep = false // the rest is not read: the connection cannot carry another answer
			} else if err := c.readN(int(length)); err != nil {
				return ans, false, err
			}
		default: // the body ends when the server closes the connection
			keep = false
			buf := make([]byte, 4096)
			for len(c.body) < maxResponse {
				n, err := c.br.Read(buf)
				c.body = append(c.body, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					return ans, false, err
				}
			}
		}
		ans.body = c.body
		return ans, keep, nil
	}
}

// line returns the next line without CRLF; it is valid until the next read.
func (c *httpConn) line() ([]byte, error) {
	l, err := c.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errMalformed
		}
		return nil, err
	}
	l = l[:len(l)-1]
	if n := len(l); n > 0 && l[n-1] == '\r' {
		l = l[:n-1]
	}
	return l, nil
}

func (c *httpConn) readN(n int) error {
	start := len(c.body)
	c.body = append(c.body, make([]byte, n)...)[:start+n]
	_, err := io.ReadFull(c.br, c.body[start:])
	return err
}

func (c *httpConn) readChunked() error {
	for {
		l, err := c.line()
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(l, ';'); i >= 0 {
			l = l[:i]
		}
		size, err := strconv.ParseUint(string(bytes.TrimSpace(l)), 16, 31)
		if err != nil {
			return errMalformed
		}
		if size == 0 {
			for { // trailers, then the empty line
				t, err := c.line()
				if err != nil {
					return err
				}
				if len(t) == 0 {
					return nil
				}
			}
		}
		if len(c.body)+int(size) > maxResponse {
			return errors.New("response body too large")
		}
		if err := c.readN(int(size)); err != nil {
			return err
		}
		if crlf, err := c.line(); err != nil || len(crlf) != 0 {
			return errMalformed
		}
	}
}

// atoi parses a non-negative decimal number.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
