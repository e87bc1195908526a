// Package merge folds the summaries of the N instances of one split run (loadgen run --segment K/N
// --start-at T) into one summary of the same format, as if one generator had sent every request.
//
// Per phase (matched by position and name): counts add up (requests, failures, outcome classes,
// errors by code), as do the instances' shares of the load (vus, rate, maxVus); the window runs from
// the earliest start to the latest end, and durationSeconds and throughput are recomputed from it;
// latency percentiles come from the sum of the instances' HDR histograms (never an average of
// percentiles), max is the largest max, mean the request-weighted mean of the instances' exact means;
// thresholds are judged again on the merged figures by the same code (stats.Check). The warm-up is
// merged the same way, the totals add up. `generators` lists every instance: its segment, seed,
// status, totals and its own per-phase figures.
//
// Inputs that do not make one run are refused: a summary without a segment, segments that repeat or
// leave a part out, different plans (options, phases, loadgen versions), the same seed twice (the
// instances would send the same events), or an input that is itself a merge.
package merge

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/perflab/apilab/tools/loadgen/internal/plan"
	"github.com/perflab/apilab/tools/loadgen/internal/runner"
	"github.com/perflab/apilab/tools/loadgen/internal/stats"
)

// Summary is a --summary document as read and written here: loadgen run's, plus the list of the
// instances a merge was made of.
type Summary struct {
	runner.Summary
	// Generators is set on a merged summary only: one entry per instance, in segment order.
	Generators []Generator `json:"generators,omitempty"`
}

// Generator is one instance of a merged run, as its own summary reported it.
type Generator struct {
	Segment    string        `json:"segment"`
	Version    string        `json:"version"`
	Seed       any           `json:"seed"`
	Status     string        `json:"status"`
	StartedAt  string        `json:"startedAt"`
	FinishedAt string        `json:"finishedAt"`
	Totals     runner.Totals `json:"totals"`
	Warmup     *Phase        `json:"warmup"`
	Phases     []Phase       `json:"phases"`
	Problems   []string      `json:"problems,omitempty"`
}

// Phase is one instance's own figures of a phase: its share of the load, its requests and its
// throughput over its own window.
type Phase struct {
	Name            string        `json:"name"`
	VUs             *int          `json:"vus"`
	Rate            *float64      `json:"rate"`
	MaxVUs          *int          `json:"maxVus,omitempty"`
	Start           string        `json:"start"`
	End             string        `json:"end"`
	DurationSeconds float64       `json:"durationSeconds"`
	Completed       bool          `json:"completed"`
	Requests        int64         `json:"requests"`
	Failures        int64         `json:"failures"`
	Throughput      float64       `json:"throughput"`
	LatencyMs       stats.Latency `json:"latencyMs"`
}

// Input is one instance's summary and where it came from (for messages).
type Input struct {
	Source  string
	Summary *Summary
}

// perInstanceOptions are the run options that may differ between the instances of one run: the part
// (segment), the seed (each instance needs its own) and the safety cap (it includes each one's wait
// for the agreed start).
var perInstanceOptions = []string{"segment", "seed", "maxDuration"}

// statusRank orders the statuses a merged run can have: the worst instance's wins.
var statusRank = map[string]int{"completed": 0, "capped": 1, "interrupted": 2, "unreachable": 3}

// Merge merges the summaries of the instances of one split run.
func Merge(inputs []Input) (*Summary, error) {
	if len(inputs) == 0 {
		return nil, errors.New("nothing to merge: give the summaries of every instance")
	}
	ordered, err := checkParts(inputs)
	if err != nil {
		return nil, err
	}
	if err := checkPlan(ordered); err != nil {
		return nil, err
	}
	first := ordered[0].Summary
	out := &Summary{Summary: runner.Summary{Tool: first.Tool, Version: first.Version, Segment: "1/1",
		Options: mergedOptions(first.Options), Phases: []runner.PhaseResult{}}}
	status := "completed"
	for i, in := range ordered {
		s := in.Summary
		if rank, ok := statusRank[s.Status]; !ok {
			return nil, fmt.Errorf("%s: unknown status %q", in.Source, s.Status)
		} else if rank > statusRank[status] {
			status = s.Status
		}
		out.Interrupted = out.Interrupted || s.Interrupted
		if i == 0 || s.StartedAt < out.StartedAt {
			out.StartedAt = s.StartedAt
		}
		if s.FinishedAt > out.FinishedAt {
			out.FinishedAt = s.FinishedAt
		}
		for _, p := range s.Problems {
			out.Problems = append(out.Problems, fmt.Sprintf("segment %s: %s", s.Segment, p))
		}
		out.Generators = append(out.Generators, generatorOf(s))
	}
	out.Status = status
	if first.Warmup != nil {
		parts := make([]runner.PhaseResult, len(ordered))
		for i, in := range ordered {
			parts[i] = *in.Summary.Warmup
		}
		w, err := mergePhase(parts, ordered)
		if err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
		out.Warmup = &w
	}
	common := commonPhases(ordered)
	for _, in := range ordered {
		for _, p := range in.Summary.Phases[common:] {
			out.Problems = append(out.Problems, fmt.Sprintf("phase %s left out: only some generators reached it before "+
				"the run was cut short (segment %s did)", p.Name, in.Summary.Segment))
		}
	}
	for i := range first.Phases[:common] {
		parts := make([]runner.PhaseResult, len(ordered))
		for k, in := range ordered {
			parts[k] = in.Summary.Phases[i]
		}
		p, err := mergePhase(parts, ordered)
		if err != nil {
			return nil, fmt.Errorf("phase %s: %w", first.Phases[i].Name, err)
		}
		out.Phases = append(out.Phases, p)
	}
	out.Totals = mergeTotals(ordered)
	return out, nil
}

// checkParts returns the inputs in segment order after checking that they are the N parts 1/N..N/N
// of one run, each exactly once.
func checkParts(inputs []Input) ([]Input, error) {
	type part struct {
		seg plan.Segment
		in  Input
	}
	parts := make([]part, 0, len(inputs))
	for _, in := range inputs {
		s := in.Summary
		switch {
		case s == nil:
			return nil, fmt.Errorf("%s: empty summary", in.Source)
		case s.Tool != runner.ToolName:
			return nil, fmt.Errorf("%s: not a loadgen summary (tool %q, want %q)", in.Source, s.Tool, runner.ToolName)
		case len(s.Generators) > 0:
			return nil, fmt.Errorf("%s is already a merge of %d generators: merge the instances' own summaries", in.Source, len(s.Generators))
		case s.Segment == "":
			return nil, fmt.Errorf("%s has no segment: it was not written by a loadgen that splits runs (--segment K/N); "+
				"merge only the summaries of the instances of one split run", in.Source)
		}
		seg, err := plan.ParseSegment(s.Segment)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", in.Source, err)
		}
		parts = append(parts, part{seg, in})
	}
	n := max(parts[0].seg.N, 1)
	seen := map[int]string{}
	for _, p := range parts {
		if pn := max(p.seg.N, 1); pn != n {
			return nil, fmt.Errorf("%s is segment %s but %s is segment %s: the parts of one run share N",
				parts[0].in.Source, parts[0].seg, p.in.Source, p.seg)
		}
		k := max(p.seg.K, 1)
		if other, dup := seen[k]; dup {
			return nil, fmt.Errorf("segment %s appears twice (%s and %s): give each instance's summary once", p.seg, other, p.in.Source)
		}
		seen[k] = p.in.Source
	}
	if len(parts) != n {
		var missing []string
		for k := 1; k <= n; k++ {
			if _, ok := seen[k]; !ok {
				missing = append(missing, plan.Segment{K: k, N: n}.String())
			}
		}
		return nil, fmt.Errorf("the run was split over %d generators but %d summaries were given: segment %s missing",
			n, len(parts), strings.Join(missing, ", "))
	}
	sort.Slice(parts, func(a, b int) bool { return parts[a].seg.K < parts[b].seg.K })
	out := make([]Input, len(parts))
	for i, p := range parts {
		out[i] = p.in
	}
	return out, nil
}

// checkPlan refuses instances that did not run the same plan.
func checkPlan(ordered []Input) error {
	first := ordered[0]
	base, ok := first.Summary.Options.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: no options: cannot tell which plan it ran", first.Source)
	}
	if len(ordered) > 1 && base["startAt"] == nil {
		return fmt.Errorf("%s ran without --start-at: the instances of a split run must start at one agreed time, "+
			"or their phase windows do not line up", first.Source)
	}
	seeds := map[string]string{}
	for _, in := range ordered {
		s := in.Summary
		if s.Version != first.Summary.Version {
			return fmt.Errorf("%s was written by %q, %s by %q: merge instances of the same loadgen",
				first.Source, first.Summary.Version, in.Source, s.Version)
		}
		opts, ok := s.Options.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: no options: cannot tell which plan it ran", in.Source)
		}
		var differ []string
		for _, key := range union(base, opts) {
			if slices.Contains(perInstanceOptions, key) {
				continue
			}
			if !reflect.DeepEqual(base[key], opts[key]) {
				differ = append(differ, fmt.Sprintf("%s %v vs %v", key, show(base[key]), show(opts[key])))
			}
		}
		if len(differ) > 0 {
			return fmt.Errorf("%s and %s ran different plans (%s)", first.Source, in.Source, strings.Join(differ, "; "))
		}
		if seed := fmt.Sprint(opts["seed"]); opts["seed"] != nil {
			if other, dup := seeds[seed]; dup {
				return fmt.Errorf("%s and %s used the same seed %s: they sent the same events (uuids); "+
					"give each instance its own --seed, or none", other, in.Source, seed)
			}
			seeds[seed] = in.Source
		}
		if (s.Warmup == nil) != (first.Summary.Warmup == nil) {
			return fmt.Errorf("%s has a warm-up and %s has none", sourceWith(ordered, true), sourceWith(ordered, false))
		}
		if len(s.Phases) != len(first.Summary.Phases) && !cutShort(ordered) {
			return fmt.Errorf("%s has %d phases, %s has %d: they ran different plans",
				first.Source, len(first.Summary.Phases), in.Source, len(s.Phases))
		}
		for i, p := range s.Phases[:min(len(s.Phases), len(first.Summary.Phases))] {
			q := first.Summary.Phases[i]
			if p.Name != q.Name {
				return fmt.Errorf("phase %d is %s in %s but %s in %s", i+1, q.Name, first.Source, p.Name, in.Source)
			}
		}
	}
	return nil
}

// cutShort reports whether an instance was interrupted or capped: then the instances may have
// reached different phases, and the merge keeps the phases every one of them reported.
func cutShort(ordered []Input) bool {
	for _, in := range ordered {
		if in.Summary.Interrupted || in.Summary.Status == "interrupted" || in.Summary.Status == "capped" {
			return true
		}
	}
	return false
}

// commonPhases is how many phases every instance reported.
func commonPhases(ordered []Input) int {
	n := len(ordered[0].Summary.Phases)
	for _, in := range ordered {
		n = min(n, len(in.Summary.Phases))
	}
	return n
}

func sourceWith(ordered []Input, warmup bool) string {
	for _, in := range ordered {
		if (in.Summary.Warmup != nil) == warmup {
			return in.Source
		}
	}
	return "?"
}

func union(a, b map[string]any) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func show(v any) string {
	if v == nil {
		return "(none)"
	}
	return fmt.Sprint(v)
}

// mergedOptions are the instances' common options, as the whole run's: segment 1/1, and neither the
// per-instance seed nor safety cap (each generator's seed is in `generators`).
func mergedOptions(options any) any {
	m, ok := options.(map[string]any)
	if !ok {
		return options
	}
	out := maps.Clone(m)
	delete(out, "seed")
	delete(out, "maxDuration")
	out["segment"] = "1/1"
	return out
}

func generatorOf(s *Summary) Generator {
	g := Generator{Segment: s.Segment, Version: s.Version, Status: s.Status, StartedAt: s.StartedAt,
		FinishedAt: s.FinishedAt, Totals: s.Totals, Phases: []Phase{}, Problems: s.Problems}
	if opts, ok := s.Options.(map[string]any); ok {
		g.Seed = opts["seed"]
	}
	own := func(p runner.PhaseResult) Phase {
		return Phase{Name: p.Name, VUs: p.VUs, Rate: p.Rate, MaxVUs: p.MaxVUs, Start: p.Start, End: p.End,
			DurationSeconds: p.DurationSeconds, Completed: p.Completed, Requests: p.Requests, Failures: p.Failures,
			Throughput: p.Throughput, LatencyMs: p.LatencyMs}
	}
	if s.Warmup != nil {
		w := own(*s.Warmup)
		g.Warmup = &w
	}
	for _, p := range s.Phases {
		g.Phases = append(g.Phases, own(p))
	}
	return g
}

// mergePhase merges the instances' figures of one phase (parts[i] is ordered[i]'s).
func mergePhase(parts []runner.PhaseResult, ordered []Input) (runner.PhaseResult, error) {
	first := parts[0]
	out := runner.PhaseResult{Name: first.Name, LatencyKind: first.LatencyKind, Completed: true,
		ErrorsByCode: map[string]int64{}}
	var start, end time.Time
	var vus, maxVUs int
	var rate float64
	open, closed, capped := 0, 0, 0
	for i, p := range parts {
		src := ordered[i].Source
		if p.LatencyKind != first.LatencyKind {
			return out, fmt.Errorf("%s measures %s latency, %s %s", ordered[0].Source, first.LatencyKind, src, p.LatencyKind)
		}
		s, err1 := time.Parse(time.RFC3339Nano, p.Start)
		e, err2 := time.Parse(time.RFC3339Nano, p.End)
		if err := errors.Join(err1, err2); err != nil {
			return out, fmt.Errorf("%s: bad window: %v", src, err)
		}
		if i == 0 || s.Before(start) {
			start = s
		}
		if e.After(end) {
			end = e
		}
		if p.VUs != nil {
			closed++
			vus += *p.VUs
		}
		if p.Rate != nil {
			open++
			rate += *p.Rate
		}
		if p.MaxVUs != nil {
			capped++
			maxVUs += *p.MaxVUs
		}
		out.Completed = out.Completed && p.Completed
		out.Requests += p.Requests
		out.Failures += p.Failures
		out.Acknowledged += p.Acknowledged
		out.Rejected += p.Rejected
		out.Ambiguous += p.Ambiguous
		for code, n := range p.ErrorsByCode {
			out.ErrorsByCode[code] += n
		}
	}
	if (open != 0 && open != len(parts)) || (closed != 0 && closed != len(parts)) {
		return out, errors.New("some instances ran it with VUs, others at an arrival rate")
	}
	if closed > 0 {
		out.VUs = &vus
	}
	if open > 0 {
		r := wholeRate(rate, len(parts), ordered[0].Summary.Options)
		out.Rate = &r
	}
	if capped == len(parts) {
		out.MaxVUs = &maxVUs
	}
	out.Start, out.End = runner.Timestamp(start), runner.Timestamp(end)
	secs := end.Sub(start).Seconds()
	out.DurationSeconds = round(secs, 3)
	if secs > 0 {
		out.Throughput = round(float64(out.Requests)/secs, 1)
	}
	hist, latency, err := mergeLatency(parts, ordered, func(p runner.PhaseResult) (string, *stats.Latency) {
		return p.Histogram, &p.LatencyMs
	})
	if err != nil {
		return out, err
	}
	out.LatencyMs, out.Histogram = latency, runner.EncodeHistogram(hist)
	if first.LatencyUncorrectedMs != nil {
		uhist, u, err := mergeLatency(parts, ordered, func(p runner.PhaseResult) (string, *stats.Latency) {
			return p.HistogramUncorrected, p.LatencyUncorrectedMs
		})
		if err != nil {
			return out, fmt.Errorf("uncorrected latency: %w", err)
		}
		out.LatencyUncorrectedMs, out.HistogramUncorrected = &u, runner.EncodeHistogram(uhist)
	}
	out.Thresholds = stats.Check(stats.Snapshot{Requests: out.Requests, Failures: out.Failures, Latency: out.LatencyMs})
	return out, nil
}

// wholeRate is the run's arrival rate from the instances' shares (rate / N each, rounded to 6 digits):
// the --rate the instances were given when the shares add up to it within their rounding, else the sum
// (to 3 digits when that is within the rounding).
func wholeRate(sum float64, n int, options any) float64 {
	slack := float64(n) * 5e-7
	if opts, ok := options.(map[string]any); ok {
		if r, ok := opts["rate"].(float64); ok && r > 0 && math.Abs(sum-r) <= slack {
			return r
		}
	}
	if r := round(sum, 3); math.Abs(sum-r) <= slack {
		return r
	}
	return round(sum, 6)
}

// mergeLatency adds up the instances' histograms of one latency (pick returns an instance's encoded
// histogram and its summary) and summarizes the sum as one window would.
func mergeLatency(parts []runner.PhaseResult, ordered []Input,
	pick func(runner.PhaseResult) (string, *stats.Latency)) (*hdrhistogram.Histogram, stats.Latency, error) {
	var merged *hdrhistogram.Histogram
	var sumMicros float64
	var maxMicros, n int64
	for i, p := range parts {
		encoded, latency := pick(p)
		src := ordered[i].Source
		if p.Requests == 0 {
			continue // no requests: no histogram, nothing to add
		}
		if encoded == "" || latency == nil {
			return nil, stats.Latency{}, fmt.Errorf("%s: %d requests but no histogram: it cannot be merged exactly "+
				"(written by a loadgen without --segment support?)", src, p.Requests)
		}
		h, err := hdrhistogram.Decode([]byte(encoded))
		if err != nil {
			return nil, stats.Latency{}, fmt.Errorf("%s: histogram: %v", src, err)
		}
		want := stats.NewHistogram()
		if h.LowestTrackableValue() != want.LowestTrackableValue() || h.HighestTrackableValue() != want.HighestTrackableValue() ||
			h.SignificantFigures() != want.SignificantFigures() {
			return nil, stats.Latency{}, fmt.Errorf("%s: histogram of range %d..%d µs, %d digits; this loadgen records %d..%d, %d",
				src, h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures(),
				want.LowestTrackableValue(), want.HighestTrackableValue(), want.SignificantFigures())
		}
		if h.TotalCount() != p.Requests {
			return nil, stats.Latency{}, fmt.Errorf("%s: histogram holds %d values but the phase has %d requests",
				src, h.TotalCount(), p.Requests)
		}
		if merged == nil {
			merged = want
		}
		if dropped := merged.Merge(h); dropped != 0 {
			return nil, stats.Latency{}, fmt.Errorf("%s: %d values outside the histogram's range", src, dropped)
		}
		// The instance's mean and max are exact (in ms, to the µs): its sum is mean × count.
		sumMicros += latency.Mean * 1000 * float64(p.Requests)
		maxMicros = max(maxMicros, int64(math.Round(latency.Max*1000)))
		n += p.Requests
	}
	if n == 0 {
		return nil, stats.Latency{}, nil
	}
	return merged, stats.Summarize(merged, sumMicros, maxMicros, n), nil
}

func mergeTotals(ordered []Input) runner.Totals {
	first := ordered[0].Summary.Totals
	out := runner.Totals{ErrorsByCode: map[string]int64{},
		PayloadBytes: runner.PayloadBytes{Size: first.PayloadBytes.Size, Target: first.PayloadBytes.Target}}
	var bytes float64
	for _, in := range ordered {
		t := in.Summary.Totals
		out.Requests += t.Requests
		out.Acknowledged += t.Acknowledged
		out.Rejected += t.Rejected
		out.Ambiguous += t.Ambiguous
		out.Samples += t.Samples
		for code, n := range t.ErrorsByCode {
			out.ErrorsByCode[code] += n
		}
		if pb := t.PayloadBytes; pb.Count > 0 {
			if out.PayloadBytes.Count == 0 || pb.Min < out.PayloadBytes.Min {
				out.PayloadBytes.Min = pb.Min
			}
			out.PayloadBytes.Max = max(out.PayloadBytes.Max, pb.Max)
			out.PayloadBytes.Count += pb.Count
			bytes += pb.Mean * float64(pb.Count)
		}
	}
	if out.PayloadBytes.Count > 0 {
		out.PayloadBytes.Mean = round(bytes/float64(out.PayloadBytes.Count), 1)
	}
	return out
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
