package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// invokePath is the Lambda Invoke API path the Runtime Interface Emulator serves.
const invokePath = "/2015-03-31/functions/function/invocations"

// HealthPath is the gateway's own health endpoint. It never invokes a function (an emulator serves one
// invocation at a time, so a probe invocation would collide with real traffic): it answers 200 when at
// least one emulator's Runtime API answers its ping, else 503. The path is not routed to the function.
const HealthPath = "/_gateway/health"

// runtimePingPath is the Runtime API's ping, answered by the emulator itself.
const runtimePingPath = "/2018-06-01/ping"

// maxPayloadBytes is Lambda's limit on a synchronous invocation payload; a request whose event
// would exceed it is refused by the gateway, as API Gateway refuses it on AWS.
const maxPayloadBytes = 6 * 1024 * 1024

// Gateway turns HTTP requests into API Gateway HTTP API (payload format 2.0) events, invokes a
// free emulator with each, and turns the function's answer back into HTTP.
type Gateway struct {
	free         chan string // emulator base URLs not serving an invocation right now
	client       *http.Client
	runtimeAPIs  []string      // each emulator's Runtime API base URL, for the health endpoint
	healthClient *http.Client  // short timeout: a health check must answer quickly
	queueTimeout time.Duration // how long a request may wait for a free emulator
	now          func() time.Time
}

// NewGateway returns a gateway over the given emulator base URLs (e.g. http://127.0.0.1:9101).
// Each emulator serves one invocation at a time, as one Lambda execution environment does.
func NewGateway(emulators []string, queueTimeout, invokeTimeout time.Duration) (*Gateway, error) {
	if len(emulators) == 0 {
		return nil, errors.New("at least one emulator URL is required")
	}
	free := make(chan string, len(emulators))
	runtimeAPIs := make([]string, 0, len(emulators))
	for _, u := range emulators {
		u = strings.TrimRight(u, "/")
		runtimeAPI, err := RuntimeAPIFor(u)
		if err != nil {
			return nil, err
		}
		free <- u
		runtimeAPIs = append(runtimeAPIs, runtimeAPI)
	}
	transport := &http.Transport{
		Proxy:               nil, // emulators are local; never route them through a proxy
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	return &Gateway{
		free:         free,
		client:       &http.Client{Transport: transport, Timeout: invokeTimeout},
		runtimeAPIs:  runtimeAPIs,
		healthClient: &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}, Timeout: time.Second},
		queueTimeout: queueTimeout,
		now:          time.Now,
	}, nil
}

// gatewayError answers as API Gateway itself does when the integration fails: a JSON object
// with a single "message".
func gatewayError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": message})
}

// RuntimeAPIFor is the Runtime API base URL of the emulator at emulatorURL: the same host, the next
// port (lambda/rie-entrypoint.sh serves the Runtime API on 127.0.0.1:PORT+1).
func RuntimeAPIFor(emulatorURL string) (string, error) {
	u, err := url.Parse(emulatorURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("emulator URL %q: want http://host:port", emulatorURL)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil || port <= 0 || port >= 65535 {
		return "", fmt.Errorf("emulator URL %q: want an explicit port below 65535", emulatorURL)
	}
	return fmt.Sprintf("%s://%s", u.Scheme, net.JoinHostPort(u.Hostname(), strconv.Itoa(port+1))), nil
}

// serveHealth answers 200 as soon as one emulator's Runtime API answers its ping, else 503.
func (g *Gateway) serveHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	answers := make(chan bool, len(g.runtimeAPIs))
	for _, base := range g.runtimeAPIs {
		go func() { answers <- g.ping(ctx, base) }()
	}
	healthy := false
	for range g.runtimeAPIs {
		if healthy = <-answers; healthy {
			break // the others finish into the buffered channel
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if !healthy {
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "no emulator answers its Runtime API ping"})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
}

func (g *Gateway) ping(ctx context.Context, base string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+runtimePingPath, nil)
	if err != nil {
		return false
	}
	resp, err := g.healthClient.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == HealthPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		g.serveHealth(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPayloadBytes+1))
	if err != nil {
		gatewayError(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if len(body) > maxPayloadBytes {
		gatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	event := g.buildEvent(r, body)
	payload, err := json.Marshal(event)
	if err != nil || len(payload) > maxPayloadBytes {
		gatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}

	// The body has arrived in full: from here on the request is served to its end even if the client
	// goes away (contract/CONTRACT.md, "Saturation"), so that an event is stored or not exactly as if the
	// client had waited. Neither the wait for a free emulator nor the invocation follows the client's
	// cancellation; an emulator handed back while still busy would also refuse the next invocation.
	ctx := context.WithoutCancel(r.Context())
	emulator, err := g.acquire(ctx)
	if err != nil {
		// All execution environments stayed busy: API Gateway's throttling answer.
		gatewayError(w, http.StatusTooManyRequests, "Too Many Requests")
		return
	}
	result, err := g.invoke(ctx, emulator, payload)
	g.free <- emulator
	if err != nil {
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	writeResult(w, result)
}

func (g *Gateway) acquire(ctx context.Context) (string, error) {
	select {
	case emulator := <-g.free:
		return emulator, nil
	default:
	}
	timer := time.NewTimer(g.queueTimeout)
	defer timer.Stop()
	select {
	case emulator := <-g.free:
		return emulator, nil
	case <-timer.C:
		return "", errors.New("no free emulator")
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// invoke POSTs the event to one emulator and returns the function's raw result.
func (g *Gateway) invoke(ctx context.Context, emulator string, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, emulator+invokePath, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	result, err := io.ReadAll(io.LimitReader(resp.Body, maxPayloadBytes+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("emulator answered HTTP %d", resp.StatusCode)
	}
	return result, nil
}

// buildEvent maps an HTTP request to a payload format 2.0 event for the routes `ANY /` and
// `ANY /{proxy+}` on the `$default` stage.
func (g *Gateway) buildEvent(r *http.Request, body []byte) events.APIGatewayV2HTTPRequest {
	now := g.now().UTC()
	headers := make(map[string]string, len(r.Header)+1)
	var cookies []string
	for name, values := range r.Header {
		lower := strings.ToLower(name)
		if lower == "cookie" {
			// Payload 2.0 moves cookies out of the headers into their own list.
			for _, v := range values {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lower] = strings.Join(values, ",")
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	if len(body) > 0 {
		headers["content-length"] = fmt.Sprint(len(body))
	}
	var query map[string]string
	if values := r.URL.Query(); len(values) > 0 {
		query = make(map[string]string, len(values))
		for k, v := range values {
			query[k] = strings.Join(v, ",")
		}
	}
	sourceIP, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		sourceIP = r.RemoteAddr
	}
	rawPath := r.URL.EscapedPath()
	event := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              "$default",
		RawPath:               rawPath,
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     "$default",
			AccountID:    "000000000000",
			Stage:        "$default",
			RequestID:    newRequestID(),
			APIID:        "local",
			DomainName:   r.Host,
			DomainPrefix: strings.Split(r.Host, ".")[0],
			Time:         now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if isTextBody(r.Header.Get("Content-Type"), body) {
			event.Body = string(body)
		} else {
			event.Body = base64.StdEncoding.EncodeToString(body)
			event.IsBase64Encoded = true
		}
	}
	return event
}

// isTextBody tells whether a body can travel as a JSON string as is. Anything else is
// base64-encoded, as API Gateway does for binary media; a body that is not valid UTF-8 always is,
// since a JSON string cannot carry it unchanged.
func isTextBody(contentType string, body []byte) bool {
	if !utf8.Valid(body) {
		return false
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mediaType, "text/"),
		mediaType == "application/json", strings.HasSuffix(mediaType, "+json"),
		mediaType == "application/xml", strings.HasSuffix(mediaType, "+xml"),
		mediaType == "application/javascript",
		mediaType == "application/x-www-form-urlencoded":
		return true
	}
	return false
}

// writeResult interprets a function result as API Gateway does for payload format 2.0: a JSON
// object with a statusCode is a full response; a function error is a 500; any other valid JSON
// is the body of a 200 application/json response.
func writeResult(w http.ResponseWriter, result []byte) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(result, &probe); err == nil {
		if _, failed := probe["errorType"]; failed {
			gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		if _, full := probe["statusCode"]; full {
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(result, &resp); err != nil || resp.StatusCode < 100 || resp.StatusCode > 599 {
				gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
				return
			}
			writeFullResponse(w, resp)
			return
		}
	}
	if !json.Valid(result) {
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(result)
}

func writeFullResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		decoded, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		body = decoded
	}
	header := w.Header()
	for name, values := range resp.MultiValueHeaders {
		for _, v := range values {
			header.Add(name, v)
		}
	}
	for name, v := range resp.Headers {
		header.Set(name, v)
	}
	for _, c := range resp.Cookies {
		header.Add("Set-Cookie", c)
	}
	header.Del("Content-Length") // recomputed from the decoded body
	header.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
