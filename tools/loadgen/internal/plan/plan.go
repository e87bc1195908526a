// Package plan turns a mode (or an explicit --phases list) into the phases a run executes.
//
// Every phase is its own window: an optional ramp from the previous load level, then a hold at the
// phase's level. Per-phase figures come from the hold only.
package plan

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Phase is one window of a run. Exactly one of VUs (closed model) or Rate (open model, requests/s)
// drives it. Iterations > 0 makes a closed phase end when each VU has done that many requests instead
// of after Hold.
type Phase struct {
	Name       string
	VUs        int
	Rate       float64
	Ramp       time.Duration
	Hold       time.Duration
	Iterations int
}

// Open reports whether the phase is driven by an arrival rate.
func (p Phase) Open() bool { return p.Rate > 0 }

// Options are the inputs of Build.
type Options struct {
	Mode   string  // smoke | full | saturation, or "" when Phases is given
	Phases string  // "10:2m,50:2m" (VUs:hold) or "100/s:30s" (rate:hold)
	Scale  float64 // multiplies every hold and ramp
	Ramp   time.Duration
	Rate   float64 // when > 0, every phase holds this arrival rate instead of its VUs
}

type step struct {
	vus  int
	hold time.Duration
}

// Modes as the original lab's README describes them, as holds (its k6 stages were linear ramps).
var modes = map[string][]step{
	"full": {{10, 2 * time.Minute}, {50, 2 * time.Minute}, {100, 2 * time.Minute}, {200, 5 * time.Minute}},
	"saturation": {{10, 2 * time.Minute}, {50, 2 * time.Minute}, {100, 2 * time.Minute}, {200, 2 * time.Minute},
		{500, 2 * time.Minute}, {1000, 2 * time.Minute}, {2000, 2 * time.Minute}},
}

// SmokeIterations is the smoke mode: 1 VU doing this many requests.
const SmokeIterations = 5

// Build returns the phases, or a usage error.
func Build(o Options) ([]Phase, error) {
	if o.Scale <= 0 {
		return nil, fmt.Errorf("--phase-scale must be > 0, got %g", o.Scale)
	}
	if o.Ramp < 0 {
		return nil, fmt.Errorf("--ramp must not be negative")
	}
	if o.Rate < 0 {
		return nil, fmt.Errorf("--rate must not be negative")
	}
	if (o.Mode == "") == (o.Phases == "") {
		return nil, fmt.Errorf("give exactly one of --mode or --phases")
	}
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) * o.Scale) }
	var phases []Phase
	switch {
	case o.Mode == "smoke":
		p := Phase{Name: "smoke", VUs: 1, Iterations: SmokeIterations}
		if o.Rate > 0 {
			return nil, fmt.Errorf("--rate does not apply to smoke mode (1 VU × %d iterations)", SmokeIterations)
		}
		return []Phase{p}, nil
	case o.Mode != "":
		steps, ok := modes[o.Mode]
		if !ok {
			return nil, fmt.Errorf("unknown mode %q (use smoke, full or saturation)", o.Mode)
		}
		for _, s := range steps {
			phases = append(phases, Phase{VUs: s.vus, Hold: scale(s.hold), Ramp: scale(o.Ramp)})
		}
	default:
		for _, item := range strings.Split(o.Phases, ",") {
			p, err := parseItem(strings.TrimSpace(item))
			if err != nil {
				return nil, err
			}
			p.Hold, p.Ramp = scale(p.Hold), scale(o.Ramp)
			phases = append(phases, p)
		}
	}
	for i := range phases {
		if o.Rate > 0 {
			phases[i].Rate, phases[i].VUs = o.Rate, 0
		}
		if phases[i].Hold <= 0 {
			return nil, fmt.Errorf("phase %d has an empty hold", i+1)
		}
	}
	name(phases)
	return phases, nil
}

// parseItem reads "VUS:HOLD" or "RATE/s:HOLD".
func parseItem(item string) (Phase, error) {
	level, hold, ok := strings.Cut(item, ":")
	if !ok {
		return Phase{}, fmt.Errorf("phase %q: want VUS:DURATION (e.g. 10:2m) or RATE/s:DURATION", item)
	}
	d, err := ParseDuration(hold)
	if err != nil || d <= 0 {
		return Phase{}, fmt.Errorf("phase %q: bad duration %q", item, hold)
	}
	if r, isRate := strings.CutSuffix(level, "/s"); isRate {
		rate, err := strconv.ParseFloat(r, 64)
		if err != nil || rate <= 0 {
			return Phase{}, fmt.Errorf("phase %q: bad rate %q", item, r)
		}
		return Phase{Rate: rate, Hold: d}, nil
	}
	vus, err := strconv.Atoi(level)
	if err != nil || vus < 1 {
		return Phase{}, fmt.Errorf("phase %q: bad VU count %q", item, level)
	}
	return Phase{VUs: vus, Hold: d}, nil
}

// ParseDuration accepts Go durations ("2m", "500ms") and plain seconds ("30").
func ParseDuration(s string) (time.Duration, error) {
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(secs * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
}

// name gives each phase a readable, unique name: "10vus", "250rps"; repeats get "#2".
func name(phases []Phase) {
	seen := map[string]int{}
	for i := range phases {
		n := fmt.Sprintf("%dvus", phases[i].VUs)
		if phases[i].Open() {
			n = strconv.FormatFloat(phases[i].Rate, 'f', -1, 64) + "rps"
		}
		seen[n]++
		if seen[n] > 1 {
			n = fmt.Sprintf("%s#%d", n, seen[n])
		}
		phases[i].Name = n
	}
}

// Duration is the planned wall time of the phases (smoke phases count as 0: they end by count).
func Duration(phases []Phase) time.Duration {
	var d time.Duration
	for _, p := range phases {
		d += p.Ramp + p.Hold
	}
	return d
}
