package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/perflab/apilab/tools/loadgen/internal/client"
	"github.com/perflab/apilab/tools/loadgen/internal/payload"
	"github.com/perflab/apilab/tools/loadgen/internal/plan"
	"github.com/perflab/apilab/tools/loadgen/internal/stats"
)

// TestDescribeMatchesDefinitions: `describe --json` is read from the definitions `run` uses.
func TestDescribeMatchesDefinitions(t *testing.T) {
	code, out, stderr := runCLI(t, "describe", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var d Description
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d.Format != "perflab.loadgen.describe/1" || d.Tool != "perflab-loadgen" || d.Version != VersionString() ||
		d.PhaseScale != 1 || d.RampSeconds != plan.DefaultRamp.Seconds() || d.WarmupSeconds != nil {
		t.Fatalf("header: %+v", d)
	}
	if strings.Join(d.Protocols, ",") != strings.Join(client.Protocols, ",") {
		t.Fatalf("protocols %v", d.Protocols)
	}
	// Payload sizes, tolerance, pool.
	if len(d.PayloadSizes) != len(payload.Sizes) || len(d.PayloadSizeOrder) != len(payload.SizeNames) ||
		d.PayloadTolerance != payload.SizeTolerance || d.EntityPool != payload.DefaultEntityPool {
		t.Fatalf("payload: %+v", d)
	}
	for i, s := range payload.SizeNames {
		if d.PayloadSizeOrder[i] != string(s) || d.PayloadSizes[string(s)] != payload.Sizes[s] {
			t.Fatalf("size %s: %d", s, d.PayloadSizes[string(s)])
		}
	}
	if d.PayloadSizes["default"] != 400 || d.PayloadSizes["4k"] != 4096 || d.PayloadSizes["64k"] != 65536 {
		t.Fatalf("sizes %v", d.PayloadSizes)
	}
	// Thresholds: the stats limits, and they judge as documented.
	if d.Thresholds != (DescribedThresholds{P95Ms: stats.P95LimitMs, P99Ms: stats.P99LimitMs, ErrorRate: stats.ErrorRateLimit}) ||
		d.Thresholds.P95Ms != 2000 || d.Thresholds.P99Ms != 5000 || d.Thresholds.ErrorRate != 0.05 {
		t.Fatalf("thresholds %+v", d.Thresholds)
	}
	// Modes: each as plan.Build + plan.Schedule produce them for run.
	if len(d.Modes) != len(plan.Modes) {
		t.Fatalf("%d modes", len(d.Modes))
	}
	for i, m := range plan.Modes {
		dm := d.Modes[i]
		phases, err := plan.Build(plan.Options{Mode: m.Name, Scale: 1, Ramp: plan.DefaultRamp})
		if err != nil {
			t.Fatal(err)
		}
		sched := plan.Schedule(phases, m.Warmup)
		if sched[0].Name == plan.WarmupName {
			sched = sched[1:]
		}
		if dm.Name != m.Name || dm.WarmupSeconds != plan.DefaultWarmupFor(m.Name).Seconds() || len(dm.Phases) != len(sched) {
			t.Fatalf("mode %s: %+v", m.Name, dm)
		}
		for j, p := range sched {
			got := dm.Phases[j]
			if got.Name != p.Name || got.VUs != p.VUs || got.HoldSeconds != p.Hold.Seconds() || got.RampSeconds != p.Ramp.Seconds() || got.Iterations != p.Iterations {
				t.Fatalf("mode %s phase %d: %+v, want %+v", m.Name, j, got, p)
			}
		}
	}
	full := d.Modes[1]
	if full.Name != "full" || full.PlannedSeconds != 5+120+5+120+5+120+5+300 || full.Phases[3].VUs != 200 || full.Phases[0].RampSeconds != 0 {
		t.Fatalf("full: %+v", full)
	}
	if smoke := d.Modes[0]; smoke.Name != "smoke" || smoke.WarmupSeconds != 0 || smoke.Phases[0].Iterations != plan.SmokeIterations || smoke.PlannedSeconds != 0 {
		t.Fatalf("smoke: %+v", smoke)
	}
	if d.LatencyKinds["closed"] != "service-time" || d.LatencyKinds["open"] != "response-time-corrected" {
		t.Fatalf("latency kinds %v", d.LatencyKinds)
	}
	// Option defaults: run's flag set.
	for name, want := range map[string]any{"ramp": "5s", "entity-pool": float64(payload.DefaultEntityPool), "max-vus": float64(200),
		"payload-size": "default", "timeout": "10s", "phase-scale": float64(1), "progress": false, "warmup": ""} {
		if got, ok := d.Options[name]; !ok || got.Default != want || got.Usage == "" {
			t.Errorf("option %s: %+v, want default %v", name, got, want)
		}
	}
	if len(d.Options) < 20 {
		t.Fatalf("%d options", len(d.Options))
	}
}

func TestDescribeScaled(t *testing.T) {
	d, err := Describe(0.1, plan.DefaultRamp, 0)
	if err != nil {
		t.Fatal(err)
	}
	full := d.Modes[1]
	// No warm-up: the first phase ramps from 0 too; everything scaled by 0.1.
	if *d.WarmupSeconds != 0 || full.WarmupSeconds != 0 || full.Phases[0].RampSeconds != 0.5 || full.Phases[3].HoldSeconds != 30 ||
		full.PlannedSeconds != 4*0.5+66 {
		t.Fatalf("scaled full: %+v", full)
	}
	code, out, _ := runCLI(t, "describe")
	if code != 0 || !strings.Contains(out, "mode full") || !strings.Contains(out, "4k=4096 B") {
		t.Fatalf("text: %d %s", code, out)
	}
	if code, _, _ := runCLI(t, "describe", "--phase-scale", "0"); code != ExitUsage {
		t.Fatal("--phase-scale 0 accepted")
	}
}
