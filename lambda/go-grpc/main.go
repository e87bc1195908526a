// Command bootstrap is the gRPC API of the lab as an AWS Lambda function (provided.al2023) that
// speaks gRPC-Web through an API Gateway HTTP API (payload format 2.0). Build with -tags lambda.norpc.
package main

import (
	"log/slog"

	"github.com/perflab/apilab/internal/config"
	"github.com/perflab/apilab/internal/grpcapi"
	"github.com/perflab/apilab/lambda/internal/lambdarun"
	"github.com/perflab/apilab/lambda/internal/lazydb"
)

func main() {
	lambdarun.Start(func(cfg config.Config, db *lazydb.Store, log *slog.Logger) any {
		return NewHandler(grpcapi.NewEventService(db, log), grpcapi.NewHealthService(db), int(cfg.MaxBodyBytes)).Handle
	})
}
