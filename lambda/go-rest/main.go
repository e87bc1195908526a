// Command bootstrap is the REST API of the lab as an AWS Lambda function (provided.al2023,
// API Gateway HTTP API, payload format 2.0). Build with -tags lambda.norpc.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/perflab/apilab/internal/httpapi"
	"github.com/perflab/apilab/lambda/internal/lambdaenv"
	"github.com/perflab/apilab/lambda/internal/lazydb"
)

func main() {
	cfg, err := lambdaenv.Load()
	if err != nil {
		// An init error: Lambda reports it and retries the environment; no invocation runs.
		slog.Error("invalid configuration", "error", err)
		os.Exit(1)
	}
	log := cfg.NewLogger()
	db := lazydb.New(cfg)
	handler := NewHandler(httpapi.New(db, cfg.MaxBodyBytes, log))
	lambda.StartWithOptions(handler.Handle, lambda.WithEnableSIGTERM(func() {
		db.Close()
		os.Exit(0)
	}))
}
