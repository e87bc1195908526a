// Command bootstrap is the gRPC API of the lab as an AWS Lambda function (provided.al2023) that
// speaks gRPC-Web through an API Gateway HTTP API (payload format 2.0). Build with -tags lambda.norpc.
package main

import (
	"github.com/perflab/apilab/internal/grpcapi"
	"github.com/perflab/apilab/lambda/internal/lambdarun"
)

func main() {
	lambdarun.Start(func(s lambdarun.Services) any {
		return NewHandler(grpcapi.NewEventService(s.DB, s.Log), grpcapi.NewHealthService(s.DB), s.Tokens,
			int(s.Config.MaxBodyBytes)).Handle
	})
}
