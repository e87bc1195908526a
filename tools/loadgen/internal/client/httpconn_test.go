package client

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rawServer answers each request on a connection with the next scripted answer (raw bytes); an
// answer "" closes the connection instead.
func rawServer(t *testing.T, answers ...string) (addr string, conns *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	conns = &atomic.Int64{}
	var next atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					i := int(next.Add(1)) - 1
					if i >= len(answers) || answers[i] == "" {
						return
					}
					_, _ = c.Write([]byte(answers[i]))
				}
			}(c)
		}
	}()
	return ln.Addr().String(), conns
}

func TestHTTPConnAnswers(t *testing.T) {
	ok := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"success\":true}"
	addr, conns := rawServer(t,
		ok,
		"HTTP/1.1 100 Continue\r\n\r\n"+ok,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"suc\r\nb;x=1\r\ncess\":true}\r\n0\r\nX-Trailer: 1\r\n\r\n",
		"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 17\r\nConnection: close\r\n\r\n{\"success\":false}",
		ok,
		"HTTP/1.1 200 OK\r\nGrpc-Status: 14\r\nGrpc-Message: database%20unavailable\r\nContent-Length: 0\r\n\r\n",
		"garbage\r\n\r\n",
		ok,
	)
	c := newHTTPConn(addr, addr, "/api/v1/events", false, [][2]string{{"Content-Type", "application/json"}}, time.Second)
	defer c.close()
	ctx := context.Background()
	body := []byte(`{"x":1}`)
	for i, want := range []struct {
		status int
		body   string
	}{{200, `{"success":true}`}, {200, `{"success":true}`}, {200, `{"success":true}`}, {503, ""}, {200, `{"success":false}`}, {200, `{"success":true}`}} {
		ans, err := c.do(ctx, body)
		if err != nil || ans.status != want.status || string(ans.body) != want.body {
			t.Fatalf("answer %d: %d %q %v", i, ans.status, ans.body, err)
		}
	}
	// Answers 0..4 on one connection; "Connection: close" made answer 5 dial again.
	if conns.Load() != 2 {
		t.Fatalf("%d connections, want 2", conns.Load())
	}
	ans, err := c.do(ctx, body)
	if err != nil || !ans.hasGrpc || ans.grpcStatus != "14" || ans.grpcMessage != "database%20unavailable" {
		t.Fatalf("trailers-only headers: %+v %v", ans, err)
	}
	if _, err := c.do(ctx, body); !errors.Is(err, errMalformed) {
		t.Fatalf("garbage: %v", err)
	}
	if ans, err := c.do(ctx, body); err != nil || ans.status != 200 {
		t.Fatalf("after garbage, a new connection: %+v %v", ans, err)
	}
}

// TestHTTPConnIdleClose: a keep-alive connection the server closed while idle is noticed before the
// next request, which goes out on a new connection instead of failing.
func TestHTTPConnIdleClose(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		_, _ = w.Write([]byte(`{"success":true}`))
	}))
	srv.Config.IdleTimeout = 200 * time.Millisecond
	srv.Start()
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	c := newHTTPConn(addr, addr, "/", false, nil, time.Second)
	defer c.close()
	for i := 0; i < 3; i++ {
		if ans, err := c.do(context.Background(), []byte("{}")); err != nil || ans.status != 200 {
			t.Fatalf("request %d: %+v %v", i, ans, err)
		}
		time.Sleep(idleCheckAfter + 100*time.Millisecond)
	}
	if n.Load() != 3 {
		t.Fatalf("server saw %d requests", n.Load())
	}
}

func TestHTTPConnTimeoutAndCancel(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	addr := strings.TrimPrefix(srv.URL, "http://")
	c := newHTTPConn(addr, addr, "/", false, nil, 100*time.Millisecond)
	defer c.close()
	began := time.Now()
	_, err := c.do(context.Background(), []byte("{}"))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || time.Since(began) > time.Second {
		t.Fatalf("timeout: %v after %v", err, time.Since(began))
	}
	c.timeout = 10 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	began = time.Now()
	if _, err := c.do(ctx, []byte("{}")); err == nil || ctx.Err() == nil || time.Since(began) > time.Second {
		t.Fatalf("cancel: %v after %v", err, time.Since(began))
	}
	if out := transportOutcome(ctx, err); out.Code != "canceled" {
		t.Fatalf("classified %+v", out)
	}
}

func TestHTTPConnLargeAnswerIsBounded(t *testing.T) {
	big := strings.Repeat("x", maxResponse+10)
	addr, _ := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(big))+"\r\n\r\n"+big)
	c := newHTTPConn(addr, addr, "/", false, nil, 2*time.Second)
	defer c.close()
	ans, err := c.do(context.Background(), []byte("{}"))
	if err != nil || len(ans.body) != maxResponse || c.conn != nil {
		t.Fatalf("%d bytes, err %v, connection kept %v", len(ans.body), err, c.conn != nil)
	}
}

func TestRESTAnswerCheck(t *testing.T) {
	for body, want := range map[string]string{
		`{"success":true,"message":"event processed"}`: "200",
		`{"success":true}` + "\n":                      "200",
		`{"message":"x","success":true}`:               "200",
		`{ "success" : true }`:                         "200",
		`{"success":false}`:                            "200_SUCCESS_FALSE",
		`{"success":true`:                              "bad_response",
		`{"success":"yes"}`:                            "bad_response",
		`<html>`:                                       "bad_response",
		`{}`:                                           "bad_response",
	} {
		if got := restAnswer([]byte(body)); got.Code != want {
			t.Errorf("%s: %s, want %s", body, got.Code, want)
		}
	}
}

func TestHTTPConnIdleButOpenIsKept(t *testing.T) {
	ok := "HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{\"success\":true}"
	addr, conns := rawServer(t, ok, ok)
	c := newHTTPConn(addr, addr, "/", false, nil, time.Second)
	defer c.close()
	for i := 0; i < 2; i++ {
		if _, err := c.do(context.Background(), []byte("{}")); err != nil {
			t.Fatal(err)
		}
		c.lastUsed = c.lastUsed.Add(-2 * idleCheckAfter) // as if idle for a while
	}
	if conns.Load() != 1 {
		t.Fatalf("an idle but open connection was replaced (%d connections)", conns.Load())
	}
}
