// Command loadgen is the lab's load generator: the same phase model for REST, gRPC and gRPC-Web,
// against loopback targets only (unless --allow-remote). See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/perflab/apilab/tools/loadgen/internal/cli"
)

func main() {
	if env, again := sysmonEnvironment(os.Environ()); again {
		if exe, err := os.Executable(); err == nil {
			_ = syscall.Exec(exe, os.Args, env) // returns only if it failed: then run as we are
		}
	}
	// SIGINT/SIGTERM cancel the run; it still writes its summary and samples, marked interrupted.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
