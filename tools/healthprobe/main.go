// Command healthprobe is the container HEALTHCHECK of every API image. It is a
// static binary so that runtime-only images need no curl or grpc_health_probe.
//
//	healthprobe http <url>                 exit 0 iff GET <url> answers 200
//	healthprobe grpc <host:port> [service] exit 0 iff grpc.health.v1 Check says SERVING
//
// Every probe gives up after 2 s.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

const timeout = 2 * time.Second

const usage = `usage:
  healthprobe http <url>
  healthprobe grpc <host:port> [service]`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "healthprobe:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("missing arguments\n%s", usage)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	switch {
	case args[0] == "http" && len(args) == 2:
		return probeHTTP(ctx, args[1])
	case args[0] == "grpc" && len(args) <= 3:
		service := ""
		if len(args) == 3 {
			service = args[2]
		}
		return probeGRPC(ctx, args[1], service)
	default:
		return fmt.Errorf("bad arguments\n%s", usage)
	}
}

func probeHTTP(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	return nil
}

func probeGRPC(ctx context.Context, target, service string) error {
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("%s service %q is %s", target, service, resp.GetStatus())
	}
	return nil
}
