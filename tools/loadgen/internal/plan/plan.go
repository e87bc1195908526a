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

// Step is one held level of a mode: VUs held for Hold, or (Iterations > 0) each VU doing that many
// requests.
type Step struct {
	VUs        int
	Hold       time.Duration
	Iterations int
}

// Mode is a named run shape. It is the one home of the lab's shapes: `run` builds its phases from it
// and `describe` prints it.
type Mode struct {
	Name        string
	Description string
	Steps       []Step
	// Warmup is the default warm-up (--warmup not given): a window at the first phase's load before
	// the first phase, reported separately and never scaled.
	Warmup time.Duration
	// Ramps tells whether --ramp applies (smoke ends by count and has no ramp).
	Ramps bool
}

// SmokeIterations is the smoke mode: 1 VU doing this many requests.
const SmokeIterations = 5

// DefaultRamp is --ramp's default: a linear ramp from the previous level before each hold (scaled).
const DefaultRamp = 5 * time.Second

// DefaultWarmup is the warm-up of every mode but smoke (whose 5 requests are checked end to end; a
// warm-up would add events to verify).
const DefaultWarmup = 5 * time.Second

// Modes as the original lab's README describes them, as holds (its k6 stages were linear ramps), in
// the order they are documented.
var Modes = []Mode{
	{Name: "smoke", Description: "1 VU x 5 requests, one phase named smoke",
		Steps: []Step{{VUs: 1, Iterations: SmokeIterations}}},
	{Name: "full", Description: "10, 50, 100, 200 VUs held 2, 2, 2, 5 min", Warmup: DefaultWarmup, Ramps: true,
		Steps: []Step{{VUs: 10, Hold: 2 * time.Minute}, {VUs: 50, Hold: 2 * time.Minute}, {VUs: 100, Hold: 2 * time.Minute},
			{VUs: 200, Hold: 5 * time.Minute}}},
	{Name: "saturation", Description: "10, 50, 100, 200, 500, 1000, 2000 VUs, 2 min each", Warmup: DefaultWarmup, Ramps: true,
		Steps: []Step{{VUs: 10, Hold: 2 * time.Minute}, {VUs: 50, Hold: 2 * time.Minute}, {VUs: 100, Hold: 2 * time.Minute},
			{VUs: 200, Hold: 2 * time.Minute}, {VUs: 500, Hold: 2 * time.Minute}, {VUs: 1000, Hold: 2 * time.Minute},
			{VUs: 2000, Hold: 2 * time.Minute}}},
}

// LookupMode finds a mode by name.
func LookupMode(name string) (Mode, bool) {
	for _, m := range Modes {
		if m.Name == name {
			return m, true
		}
	}
	return Mode{}, false
}

// ModeNames lists the modes in order.
func ModeNames() []string {
	names := make([]string, len(Modes))
	for i, m := range Modes {
		names[i] = m.Name
	}
	return names
}

// DefaultWarmupFor is the warm-up when --warmup is not given: the mode's, or DefaultWarmup for an
// explicit --phases list.
func DefaultWarmupFor(mode string) time.Duration {
	if m, ok := LookupMode(mode); ok {
		return m.Warmup
	}
	return DefaultWarmup
}

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
	case o.Mode != "":
		m, ok := LookupMode(o.Mode)
		if !ok {
			return nil, fmt.Errorf("unknown mode %q (use %s)", o.Mode, strings.Join(ModeNames(), ", "))
		}
		if !m.Ramps {
			if o.Rate > 0 {
				return nil, fmt.Errorf("--rate does not apply to %s mode (1 VU × %d iterations)", m.Name, SmokeIterations)
			}
			for _, s := range m.Steps {
				phases = append(phases, Phase{Name: m.Name, VUs: s.VUs, Iterations: s.Iterations})
			}
			return phases, nil
		}
		for _, s := range m.Steps {
			phases = append(phases, Phase{VUs: s.VUs, Hold: scale(s.Hold), Ramp: scale(o.Ramp)})
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

// WarmupName is the name of the warm-up phase Schedule prepends.
const WarmupName = "warmup"

// Schedule returns the phases as the runner executes them: a warm-up phase (when warmup > 0) at the
// first phase's load, without a ramp, then the phases, each with its Ramp cleared when the level does
// not change from the previous phase (nothing to ramp: e.g. the first phase after the warm-up).
// A ramp starts from the previous phase's level of the same model (closed VUs or open rate), from 0
// after a phase of the other model or an iterations phase.
func Schedule(phases []Phase, warmup time.Duration) []Phase {
	out := make([]Phase, 0, len(phases)+1)
	if warmup > 0 && len(phases) > 0 {
		first := phases[0]
		out = append(out, Phase{Name: WarmupName, VUs: first.VUs, Rate: first.Rate, Hold: warmup})
	}
	out = append(out, phases...)
	prevVUs, prevRate := 0, 0.0
	for i := range out {
		p := &out[i]
		switch {
		case p.Open():
			if p.Rate == prevRate {
				p.Ramp = 0
			}
			prevVUs, prevRate = 0, p.Rate
		case p.Iterations > 0:
			p.Ramp = 0
			prevVUs, prevRate = 0, 0
		default:
			if p.VUs == prevVUs {
				p.Ramp = 0
			}
			prevVUs, prevRate = p.VUs, 0
		}
	}
	return out
}

// Duration is the planned wall time of the phases (smoke phases count as 0: they end by count).
func Duration(phases []Phase) time.Duration {
	var d time.Duration
	for _, p := range phases {
		d += p.Ramp + p.Hold
	}
	return d
}
