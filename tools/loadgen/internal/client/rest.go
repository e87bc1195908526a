package client

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/perflab/apilab/tools/loadgen/internal/payload"
	"github.com/perflab/apilab/tools/loadgen/internal/stats"
)

// maxResponse bounds how much of a response body is read.
const maxResponse = 1 << 20

const restPath = "/api/v1/events"

type restClient struct {
	http *httpConn
}

func (c *restClient) Close() { c.http.close() }

func (c *restClient) Prepare(s *payload.Stream) Request {
	body := s.Next(payload.JSONBody)
	return Request{Body: body, Bytes: len(body)}
}

// successPrefix is how the lab's APIs begin a success answer: such a body, when it is one JSON
// object (it ends with its closing brace), is taken as success without decoding it; anything else
// is decoded in full.
var successPrefix = []byte(`{"success":true`)

func (c *restClient) Send(parent context.Context, req Request) Outcome {
	ans, err := c.http.do(parent, req.Body)
	if err != nil {
		return transportOutcome(parent, err)
	}
	if ans.status != 200 {
		return httpStatusOutcome(ans.status)
	}
	return restAnswer(ans.body)
}

// restAnswer checks a 200 answer: JSON with `success: true`.
func restAnswer(body []byte) Outcome {
	if trimmed := bytes.TrimRight(body, " \t\r\n"); bytes.HasPrefix(trimmed, successPrefix) && len(trimmed) > len(successPrefix) &&
		(trimmed[len(successPrefix)] == ',' || trimmed[len(successPrefix)] == '}') && trimmed[len(trimmed)-1] == '}' {
		return Outcome{Code: "200", OK: true, Class: stats.Acknowledged}
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
