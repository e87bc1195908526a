// Package cli is the thin command line of loadgen: it parses options, checks them and calls the runner.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/perflab/apilab/tools/loadgen/internal/client"
	"github.com/perflab/apilab/tools/loadgen/internal/payload"
	"github.com/perflab/apilab/tools/loadgen/internal/plan"
	"github.com/perflab/apilab/tools/loadgen/internal/runner"
	"github.com/perflab/apilab/tools/loadgen/internal/target"
)

// Version of the tool, reported in every summary.
const Version = "0.1.0"

// Exit codes.
const (
	ExitCompleted   = 0
	ExitUnreachable = 1 // also: the run could not start (samples file, summary file)
	ExitUsage       = 2
	ExitCapped      = 3   // --max-duration cut the run; summary still written
	ExitInterrupted = 130 // SIGINT/SIGTERM; summary still written
)

const usage = `usage:
  loadgen run --protocol rest|grpc|grpcweb --target ADDRESS (--mode smoke|full|saturation | --phases LIST) [options]
  loadgen describe [--json] [--phase-scale X] [--ramp D]
  loadgen merge --summary OUT.json IN1.json IN2.json ...   (the summaries of a run split with --segment)
  loadgen version

Run "loadgen run -h" for the options.`

// Options are the run's options as given (echoed into the summary).
type Options struct {
	Protocol    string  `json:"protocol"`
	Target      string  `json:"target"`
	Mode        string  `json:"mode,omitempty"`
	Phases      string  `json:"phases,omitempty"`
	PhaseScale  float64 `json:"phaseScale"`
	Ramp        string  `json:"ramp"`
	ThinkTime   string  `json:"thinkTime"`
	Rate        float64 `json:"rate"`
	MaxVUs      int     `json:"maxVus"`
	Connections int     `json:"connections"`
	PayloadSize string  `json:"payloadSize"`
	EntityPool  int     `json:"entityPool"`
	Seed        uint64  `json:"seed"`
	Warmup      string  `json:"warmup"`
	Timeout     string  `json:"timeout"`
	MaxDuration string  `json:"maxDuration"`
	AllowRemote bool    `json:"allowRemote"`
	Segment     string  `json:"segment"`
	StartAt     string  `json:"startAt,omitempty"`
	// Auth: every request carries the bearer token of $JWT_TOKEN (the original lab's variable). The
	// summary says a token was sent, never which.
	Auth bool `json:"auth"`
}

// Main runs the command line and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return ExitUsage
	}
	switch args[0] {
	case "run":
		return run(ctx, args[1:], stdout, stderr)
	case "describe":
		return describe(args[1:], stdout, stderr)
	case "sample": // sample.go: events exactly as run sends them, one JSON body per line
		return sample(args[1:], stdout, stderr)
	case "merge":
		return mergeCmd(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, VersionString())
		return ExitCompleted
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return ExitCompleted
	default:
		fmt.Fprintf(stderr, "loadgen: unknown command %q\n%s\n", args[0], usage)
		return ExitUsage
	}
}

// VersionString is what the results document records as the load generator's version.
func VersionString() string {
	return fmt.Sprintf("perflab-loadgen %s (%s)", Version, runtime.Version())
}

// runFlags holds what `run` parses besides Options.
type runFlags struct {
	summaryPath, samplesPath string
	progress                 bool
	cpuProfile               string
}

// newRunFlags defines `run`'s options: the one home of their names and defaults (`describe` prints
// them from here).
func newRunFlags(o *Options, rf *runFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("loadgen run", flag.ContinueOnError)
	fs.StringVar(&o.Protocol, "protocol", "", "rest, grpc or grpcweb (required)")
	fs.StringVar(&o.Target, "target", "", "http://127.0.0.1:PORT (rest, grpcweb) or 127.0.0.1:PORT (grpc) (required)")
	fs.StringVar(&o.Mode, "mode", "", "smoke (1 VU x 5 requests), full (10/50/100/200 VUs held 2/2/2/5 min) or saturation (10..2000 VUs, 2 min each)")
	fs.StringVar(&o.Phases, "phases", "", `explicit phases instead of --mode: "VUS:HOLD,..." e.g. "10:2m,50:2m", or "RATE/s:HOLD"`)
	fs.Float64Var(&o.PhaseScale, "phase-scale", 1, "multiplies every hold and ramp (0.05 turns minutes into seconds)")
	fs.StringVar(&o.Ramp, "ramp", plan.DefaultRamp.String(), "ramp before each hold, scaled too; excluded from results")
	fs.StringVar(&o.ThinkTime, "think-time", "0", "pause after each request of a VU (closed model)")
	fs.Float64Var(&o.Rate, "rate", 0, "open model: hold this arrival rate (requests/s) in every phase instead of its VUs")
	fs.IntVar(&o.MaxVUs, "max-vus", 200, "open model: workers, i.e. the cap on requests in flight")
	fs.IntVar(&o.Connections, "connections", 0, "gRPC: at most this many ClientConns shared round-robin by the VUs; 0 = one per VU")
	fs.StringVar(&o.PayloadSize, "payload-size", "default", "default (~400 B), 4k, 8k, 32k or 64k REST JSON body")
	fs.IntVar(&o.EntityPool, "entity-pool", payload.DefaultEntityPool, "entity ids per type are drawn from this many, so updates happen")
	fs.Uint64Var(&o.Seed, "seed", 0, "payload seed; 0 picks a random one (recorded in the summary)")
	fs.StringVar(&o.Warmup, "warmup", "", "warm-up at the first phase's load, reported separately (default: the mode's, 5s; 0 for smoke)")
	fs.StringVar(&o.Timeout, "timeout", "10s", "per-request timeout")
	fs.StringVar(&o.MaxDuration, "max-duration", "", "safety cap on the whole run (default: planned time + 6 timeouts + 30s)")
	fs.BoolVar(&o.AllowRemote, "allow-remote", false, "allow a non-loopback target (reserved for the AWS stack)")
	fs.StringVar(&o.Segment, "segment", "1/1", "K/N: this instance's part of a run split over N generators (its share of every phase's VUs or arrivals)")
	fs.BoolVar(&o.Auth, "auth", false, "send `Authorization: Bearer $JWT_TOKEN` with every request (gRPC: metadata authorization)")
	fs.StringVar(&o.StartAt, "start-at", "", "RFC 3339 wall-clock time at which the run starts; every phase then starts at an agreed time (for --segment)")
	fs.StringVar(&rf.summaryPath, "summary", "", "write the summary JSON here")
	fs.StringVar(&rf.samplesPath, "samples", "", "write raw samples (gzip CSV) here")
	fs.BoolVar(&rf.progress, "progress", false, "one JSON line per second on stderr")
	fs.StringVar(&rf.cpuProfile, "cpu-profile", "", "diagnostics: write a Go CPU profile of the run here (go tool pprof)")
	return fs
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o Options
	var rf runFlags
	fs := newRunFlags(&o, &rf)
	fs.SetOutput(stderr)
	summaryPath, samplesPath, progress := &rf.summaryPath, &rf.samplesPath, &rf.progress
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitCompleted
		}
		return ExitUsage
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "loadgen: "+format+"\n", a...)
		return ExitUsage
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected arguments %q", fs.Args())
	}
	if !slices.Contains(client.Protocols, o.Protocol) {
		return usageErr("--protocol must be one of %s", strings.Join(client.Protocols, ", "))
	}
	tg, err := target.Parse(o.Protocol, o.Target, o.AllowRemote)
	if err != nil {
		return usageErr("%v", err)
	}
	var ramp, think, warmup, timeout, maxDuration time.Duration
	for name, spec := range map[string]struct {
		raw string
		dst *time.Duration
	}{"ramp": {o.Ramp, &ramp}, "think-time": {o.ThinkTime, &think}, "timeout": {o.Timeout, &timeout}} {
		d, err := plan.ParseDuration(spec.raw)
		if err != nil || d < 0 {
			return usageErr("--%s: bad duration %q", name, spec.raw)
		}
		*spec.dst = d
	}
	if timeout <= 0 {
		return usageErr("--timeout must be > 0")
	}
	phases, err := plan.Build(plan.Options{Mode: o.Mode, Phases: o.Phases, Scale: o.PhaseScale, Ramp: ramp, Rate: o.Rate})
	if err != nil {
		return usageErr("%v", err)
	}
	switch {
	case o.Warmup != "":
		if warmup, err = plan.ParseDuration(o.Warmup); err != nil || warmup < 0 {
			return usageErr("--warmup: bad duration %q", o.Warmup)
		}
	default:
		warmup = plan.DefaultWarmupFor(o.Mode)
	}
	o.Warmup = warmup.String()
	if _, ok := payload.Sizes[payload.Size(o.PayloadSize)]; !ok {
		return usageErr("--payload-size must be one of %s", sizeList())
	}
	if o.EntityPool < 1 {
		return usageErr("--entity-pool must be >= 1")
	}
	if o.MaxVUs < 1 || o.MaxVUs > 100000 {
		return usageErr("--max-vus must be between 1 and 100000")
	}
	if o.Connections < 0 {
		return usageErr("--connections must not be negative")
	}
	seg, err := plan.ParseSegment(o.Segment)
	if err != nil {
		return usageErr("%v", err)
	}
	o.Segment = seg.String()
	var startAt time.Time
	if o.StartAt != "" {
		if startAt, err = time.Parse(time.RFC3339Nano, o.StartAt); err != nil {
			return usageErr("--start-at %q: want an RFC 3339 time, e.g. 2026-01-02T15:04:05Z", o.StartAt)
		}
		if time.Until(startAt) < 0 {
			return usageErr("--start-at %s is in the past", o.StartAt)
		}
		for _, p := range phases {
			if p.Iterations > 0 {
				return usageErr("--start-at does not apply to a phase that ends by count (smoke)")
			}
		}
	}
	if o.MaxDuration != "" {
		if maxDuration, err = plan.ParseDuration(o.MaxDuration); err != nil || maxDuration <= 0 {
			return usageErr("--max-duration: bad duration %q", o.MaxDuration)
		}
	} else {
		maxDuration = plan.Duration(plan.Schedule(phases, warmup)) + 6*timeout + 30*time.Second
		if !startAt.IsZero() {
			maxDuration += time.Until(startAt) // the wait for the agreed start
		}
	}
	o.MaxDuration = maxDuration.String()
	if o.Seed == 0 {
		o.Seed = 1 + rand.Uint64N(1<<31) // small enough to read and to survive any JSON reader
	}
	var token string
	if o.Auth {
		if token = strings.TrimSpace(os.Getenv("JWT_TOKEN")); token == "" {
			return usageErr("--auth needs the token in JWT_TOKEN (bench token prints one for the local stack)")
		}
	}
	cfg := runner.Config{Token: token, Protocol: o.Protocol, Target: tg, Phases: phases, Warmup: warmup, ThinkTime: think,
		MaxVUs: o.MaxVUs, Connections: o.Connections, Timeout: timeout, PayloadSize: payload.Size(o.PayloadSize),
		EntityPool: o.EntityPool, Seed: o.Seed, MaxDuration: maxDuration, SamplesPath: *samplesPath,
		Segment: seg, StartAt: startAt,
		Options: o, Version: VersionString()}
	if *progress {
		cfg.Progress = stderr
	}
	if rf.cpuProfile != "" {
		f, err := os.Create(rf.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "loadgen: --cpu-profile: %v\n", err)
			return ExitUnreachable
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "loadgen: --cpu-profile: %v\n", err)
			return ExitUnreachable
		}
		defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
	}
	sum, runErr := runner.Run(ctx, cfg)
	if *summaryPath != "" && sum != nil {
		if err := writeJSON(*summaryPath, sum); err != nil {
			fmt.Fprintf(stderr, "loadgen: --summary: %v\n", err)
			return ExitUnreachable
		}
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", runErr)
		return ExitUnreachable
	}
	report(stdout, sum)
	switch sum.Status {
	case "interrupted":
		return ExitInterrupted
	case "capped":
		fmt.Fprintf(stderr, "loadgen: --max-duration %s reached; the run was cut short\n", maxDuration)
		return ExitCapped
	}
	return ExitCompleted
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// report prints one line per phase for a person watching.
func report(w io.Writer, s *runner.Summary) {
	fmt.Fprintf(w, "%s: %s\n", s.Version, s.Status)
	for _, p := range append(optional(s.Warmup), s.Phases...) {
		fmt.Fprintf(w, "%-12s %7d req %6d fail %9.1f req/s  p50 %8.2f  p95 %8.2f  p99 %8.2f ms\n",
			p.Name, p.Requests, p.Failures, p.Throughput, p.LatencyMs.P50, p.LatencyMs.P95, p.LatencyMs.P99)
	}
	t := s.Totals
	fmt.Fprintf(w, "total %d requests: %d acknowledged, %d rejected, %d ambiguous; body %.0f B mean (%d..%d)\n",
		t.Requests, t.Acknowledged, t.Rejected, t.Ambiguous, t.PayloadBytes.Mean, t.PayloadBytes.Min, t.PayloadBytes.Max)
}

func optional(p *runner.PhaseResult) []runner.PhaseResult {
	if p == nil {
		return nil
	}
	return []runner.PhaseResult{*p}
}
