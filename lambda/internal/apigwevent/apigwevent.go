// Package apigwevent reads the parts of an API Gateway HTTP API event (payload format 2.0) that
// both Lambda functions need.
package apigwevent

import (
	"encoding/base64"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Path is the request path: rawPath, or requestContext.http.path when rawPath is absent.
func Path(e events.APIGatewayV2HTTPRequest) string {
	if e.RawPath != "" {
		return e.RawPath
	}
	return e.RequestContext.HTTP.Path
}

// Method is the HTTP method, upper case.
func Method(e events.APIGatewayV2HTTPRequest) string {
	return strings.ToUpper(e.RequestContext.HTTP.Method)
}

// Header reads a header. API Gateway lower-cases the names; a direct invocation may not.
func Header(e events.APIGatewayV2HTTPRequest, name string) string {
	name = strings.ToLower(name)
	if v, ok := e.Headers[name]; ok {
		return v
	}
	for k, v := range e.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Body is the request body, base64-decoded when isBase64Encoded is set.
func Body(e events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if !e.IsBase64Encoded {
		return []byte(e.Body), nil
	}
	return base64.StdEncoding.DecodeString(e.Body)
}
