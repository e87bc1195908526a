package client

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/perflab/apilab/tools/loadgen/internal/payload"
	"github.com/perflab/apilab/tools/loadgen/internal/stats"
)

// maxResponse bounds how much of a response body is read.
const maxResponse = 1 << 20

type restClient struct {
	http    *http.Client
	url     string
	timeout time.Duration
}

func (c *restClient) Prepare(ev *payload.Event) Request {
	body := payload.JSON(ev)
	return Request{Body: body, Bytes: len(body)}
}

func (c *restClient) Send(parent context.Context, req Request) Outcome {
	ctx, cancel := context.WithTimeout(parent, c.timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(req.Body))
	if err != nil {
		return Outcome{Code: "transport", Class: stats.Ambiguous}
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(hr)
	if err != nil {
		return transportOutcome(parent, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	_ = resp.Body.Close()
	if err != nil {
		return transportOutcome(parent, err)
	}
	if resp.StatusCode != http.StatusOK {
		return httpStatusOutcome(resp.StatusCode)
	}
	var answer struct {
		Success *bool `json:"success"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.Success == nil {
		// A 200 we cannot read: the server may well have stored the event.
		return Outcome{Code: "bad_response", Class: stats.Ambiguous}
	}
	if !*answer.Success {
		return Outcome{Code: "200_SUCCESS_FALSE", Class: stats.Rejected}
	}
	return Outcome{Code: "200", OK: true, Class: stats.Acknowledged}
}
