package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/perflab/apilab/tools/loadgen/internal/client"
	"github.com/perflab/apilab/tools/loadgen/internal/payload"
	"github.com/perflab/apilab/tools/loadgen/internal/plan"
	"github.com/perflab/apilab/tools/loadgen/internal/runner"
	"github.com/perflab/apilab/tools/loadgen/internal/stats"
)

// DescribeFormat versions the `describe --json` document. A change that removes or renames a field,
// or changes a field's meaning, gets a new number; adding fields does not.
const DescribeFormat = "perflab.loadgen.describe/1"

// Description is the `describe --json` document: the run shapes and defaults `run` uses, read from
// the same definitions (plan.Modes, payload.Sizes, stats limits, run's flag set), never a copy.
type Description struct {
	Format  string `json:"format"`
	Tool    string `json:"tool"`
	Version string `json:"version"`
	// The arguments the shapes below were computed with (describe's own --phase-scale, --ramp,
	// --warmup; defaults as in `run`).
	PhaseScale    float64         `json:"phaseScale"`
	RampSeconds   float64         `json:"rampSeconds"`
	WarmupSeconds *float64        `json:"warmupSeconds"` // null: each mode's default warm-up
	Protocols     []string        `json:"protocols"`
	Modes         []DescribedMode `json:"modes"`
	// PayloadSizes maps --payload-size names to the exact REST JSON body size in bytes;
	// PayloadSizeOrder lists them ascending; every body is within ±PayloadTolerance (a fraction).
	PayloadSizes     map[string]int             `json:"payloadSizes"`
	PayloadSizeOrder []string                   `json:"payloadSizeOrder"`
	PayloadTolerance float64                    `json:"payloadTolerance"`
	EntityPool       int                        `json:"entityPool"`
	Thresholds       DescribedThresholds        `json:"thresholds"`
	LatencyKinds     map[string]string          `json:"latencyKinds"`
	Histogram        DescribedHistogram         `json:"histogram"`
	ExitCodes        map[string]int             `json:"exitCodes"`
	Options          map[string]DescribedOption `json:"options"`
}

// DescribedMode is one --mode: its phases as `run` executes them at PhaseScale, after the mode's
// default warm-up (or describe's --warmup).
type DescribedMode struct {
	Name          string           `json:"name"`
	Description   string           `json:"description"`
	WarmupSeconds float64          `json:"warmupSeconds"`
	Phases        []DescribedPhase `json:"phases"`
	// PlannedSeconds is warm-up + ramps + holds: the run's planned wall time (0 for smoke, which ends
	// by count), without the final drain of in-flight requests.
	PlannedSeconds float64 `json:"plannedSeconds"`
}

// DescribedPhase is one phase: a ramp of RampSeconds from the previous level (0: none, the level
// does not change), then a hold of HoldSeconds; Iterations > 0 instead ends the phase when each VU
// has sent that many requests.
type DescribedPhase struct {
	Name        string  `json:"name"`
	VUs         int     `json:"vus"`
	HoldSeconds float64 `json:"holdSeconds"`
	RampSeconds float64 `json:"rampSeconds"`
	Iterations  int     `json:"iterations"`
}

// DescribedThresholds are the per-phase limits: a phase passes each when its figure is strictly below.
type DescribedThresholds struct {
	P95Ms     float64 `json:"p95Ms"`
	P99Ms     float64 `json:"p99Ms"`
	ErrorRate float64 `json:"errorRate"`
}

// DescribedHistogram is how latencies are recorded.
type DescribedHistogram struct {
	Unit              string `json:"unit"`
	LowestDiscernible int64  `json:"lowestDiscernible"`
	HighestTrackable  int64  `json:"highestTrackable"`
	SignificantDigits int    `json:"significantDigits"`
}

// DescribedOption is one option of `loadgen run`: its default (typed: string, number or boolean)
// and help text.
type DescribedOption struct {
	Default any    `json:"default"`
	Usage   string `json:"usage"`
}

func seconds(d time.Duration) float64 { return d.Seconds() }

// Describe builds the document. warmup < 0 means each mode's default warm-up.
func Describe(scale float64, ramp, warmup time.Duration) (*Description, error) {
	d := &Description{Format: DescribeFormat, Tool: runner.ToolName, Version: VersionString(),
		PhaseScale: scale, RampSeconds: seconds(ramp), Protocols: append([]string(nil), client.Protocols...),
		PayloadSizes: map[string]int{}, PayloadTolerance: payload.SizeTolerance,
		EntityPool:   payload.DefaultEntityPool,
		Thresholds:   DescribedThresholds{P95Ms: stats.P95LimitMs, P99Ms: stats.P99LimitMs, ErrorRate: stats.ErrorRateLimit},
		LatencyKinds: map[string]string{"closed": stats.KindServiceTime, "open": stats.KindResponseTimeCorrected},
		Histogram: DescribedHistogram{Unit: "us", LowestDiscernible: stats.LowestMicros,
			HighestTrackable: stats.HighestMicros, SignificantDigits: stats.SignificantDigits},
		ExitCodes: map[string]int{"completed": ExitCompleted, "unreachable": ExitUnreachable, "usage": ExitUsage,
			"capped": ExitCapped, "interrupted": ExitInterrupted},
		Options: map[string]DescribedOption{}}
	if warmup >= 0 {
		w := seconds(warmup)
		d.WarmupSeconds = &w
	}
	for _, m := range plan.Modes {
		phases, err := plan.Build(plan.Options{Mode: m.Name, Scale: scale, Ramp: ramp})
		if err != nil {
			return nil, err
		}
		w := warmup
		if w < 0 {
			w = plan.DefaultWarmupFor(m.Name)
		}
		dm := DescribedMode{Name: m.Name, Description: m.Description, WarmupSeconds: seconds(w), Phases: []DescribedPhase{}}
		scheduled := plan.Schedule(phases, w)
		for _, p := range scheduled {
			if p.Name == plan.WarmupName {
				continue
			}
			dm.Phases = append(dm.Phases, DescribedPhase{Name: p.Name, VUs: p.VUs, HoldSeconds: seconds(p.Hold),
				RampSeconds: seconds(p.Ramp), Iterations: p.Iterations})
		}
		if m.Ramps { // phases that end by count have no planned time
			dm.PlannedSeconds = seconds(plan.Duration(scheduled))
		}
		d.Modes = append(d.Modes, dm)
	}
	for _, s := range payload.SizeNames {
		d.PayloadSizes[string(s)] = payload.Sizes[s]
		d.PayloadSizeOrder = append(d.PayloadSizeOrder, string(s))
	}
	var o Options
	var rf runFlags
	newRunFlags(&o, &rf).VisitAll(func(f *flag.Flag) {
		var def any = f.DefValue
		if g, ok := f.Value.(flag.Getter); ok {
			def = g.Get() // a fresh flag set holds its defaults, typed
		}
		d.Options[f.Name] = DescribedOption{Default: def, Usage: f.Usage}
	})
	return d, nil
}

func describe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen describe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the versioned JSON document ("+DescribeFormat+")")
	scale := fs.Float64("phase-scale", 1, "compute the shapes at this phase scale, as `run --phase-scale`")
	rampRaw := fs.String("ramp", plan.DefaultRamp.String(), "compute the shapes with this ramp, as `run --ramp`")
	warmupRaw := fs.String("warmup", "", "compute the shapes with this warm-up (default: each mode's)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitCompleted
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "loadgen: unexpected arguments %q\n", fs.Args())
		return ExitUsage
	}
	ramp, err := plan.ParseDuration(*rampRaw)
	if err != nil || ramp < 0 {
		fmt.Fprintf(stderr, "loadgen: --ramp: bad duration %q\n", *rampRaw)
		return ExitUsage
	}
	warmup := time.Duration(-1)
	if *warmupRaw != "" {
		if warmup, err = plan.ParseDuration(*warmupRaw); err != nil || warmup < 0 {
			fmt.Fprintf(stderr, "loadgen: --warmup: bad duration %q\n", *warmupRaw)
			return ExitUsage
		}
	}
	if *scale <= 0 {
		fmt.Fprintf(stderr, "loadgen: --phase-scale must be > 0\n")
		return ExitUsage
	}
	d, err := Describe(*scale, ramp, warmup)
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return ExitUsage
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(d)
		return ExitCompleted
	}
	fmt.Fprintf(stdout, "%s — run shapes at phase scale %g, ramp %gs\n", d.Version, d.PhaseScale, d.RampSeconds)
	for _, m := range d.Modes {
		var parts []string
		for _, p := range m.Phases {
			if p.Iterations > 0 {
				parts = append(parts, fmt.Sprintf("%s (%d VU x %d requests)", p.Name, p.VUs, p.Iterations))
			} else {
				parts = append(parts, fmt.Sprintf("%s (ramp %gs, hold %gs)", p.Name, p.RampSeconds, p.HoldSeconds))
			}
		}
		fmt.Fprintf(stdout, "mode %-10s warm-up %gs, planned %gs: %s\n", m.Name, m.WarmupSeconds, m.PlannedSeconds, strings.Join(parts, ", "))
	}
	var sizes []string
	for _, s := range d.PayloadSizeOrder {
		sizes = append(sizes, fmt.Sprintf("%s=%d B", s, d.PayloadSizes[s]))
	}
	fmt.Fprintf(stdout, "payload sizes (±%g %%): %s; entity pool %d\n", d.PayloadTolerance*100, strings.Join(sizes, ", "), d.EntityPool)
	fmt.Fprintf(stdout, "thresholds per phase: p95 < %g ms, p99 < %g ms, error rate < %g\n", d.Thresholds.P95Ms, d.Thresholds.P99Ms, d.Thresholds.ErrorRate)
	fmt.Fprintf(stdout, "protocols: %s (loadgen describe --json for the full document)\n", strings.Join(d.Protocols, ", "))
	return ExitCompleted
}

func sizeList() string {
	names := make([]string, len(payload.SizeNames))
	for i, s := range payload.SizeNames {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}
