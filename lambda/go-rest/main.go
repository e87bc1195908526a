// Command bootstrap is the REST API of the lab as an AWS Lambda function (provided.al2023,
// API Gateway HTTP API, payload format 2.0). Build with -tags lambda.norpc.
package main

import (
	"github.com/perflab/apilab/internal/httpapi"
	"github.com/perflab/apilab/lambda/internal/lambdarun"
)

func main() {
	lambdarun.Start(func(s lambdarun.Services) any {
		return NewHandler(httpapi.New(s.DB, s.Tokens, s.Config.MaxBodyBytes, s.Log)).Handle
	})
}
