// Package pb is the Go code generated from proto/event_service.proto, the only gRPC contract of the lab.
// Never edit the *.pb.go files by hand: run internal/pb/generate.sh (or go generate ./internal/pb).
package pb

//go:generate ./generate.sh
