package runner

import (
	"math"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/perflab/apilab/tools/loadgen/internal/payload"
	"github.com/perflab/apilab/tools/loadgen/internal/plan"
	"github.com/perflab/apilab/tools/loadgen/internal/stats"
)

// Summary is the --summary document. Its per-phase fields are those of a phase in the results
// document (docs/results-format.md), so the runner can copy them and add resources.
type Summary struct {
	Tool        string `json:"tool"`
	Version     string `json:"version"`
	Status      string `json:"status"` // completed | interrupted | capped | unreachable
	Interrupted bool   `json:"interrupted"`
	StartedAt   string `json:"startedAt"`
	FinishedAt  string `json:"finishedAt"`
	Options     any    `json:"options"`
	// Segment is this instance's part of the run, "K/N" ("1/1": the whole run); its phases report
	// its own share (vus, rate, requests) and histograms a merger can add up.
	Segment  string        `json:"segment"`
	Warmup   *PhaseResult  `json:"warmup"`
	Phases   []PhaseResult `json:"phases"`
	Totals   Totals        `json:"totals"`
	Problems []string      `json:"problems,omitempty"`
}

// PhaseResult covers a phase's hold only.
type PhaseResult struct {
	Name            string           `json:"name"`
	VUs             *int             `json:"vus"`
	Rate            *float64         `json:"rate"`
	MaxVUs          *int             `json:"maxVus,omitempty"` // open model: the in-flight cap
	Start           string           `json:"start"`
	End             string           `json:"end"`
	DurationSeconds float64          `json:"durationSeconds"`
	Completed       bool             `json:"completed"` // false: cut short by an interruption
	Requests        int64            `json:"requests"`
	Failures        int64            `json:"failures"`
	ErrorsByCode    map[string]int64 `json:"errorsByCode"`
	Throughput      float64          `json:"throughput"`
	// LatencyMs is what the phase reports and its thresholds judge; LatencyKind says what it measures:
	// "service-time" (closed model: from the send) or "response-time-corrected" (open model: from
	// the scheduled send time). LatencyUncorrectedMs (open model only, else null) is the same
	// requests from the actual send: the gap between the two is the queueing the schedule saw.
	LatencyMs            stats.Latency    `json:"latencyMs"`
	LatencyKind          string           `json:"latencyKind"`
	LatencyUncorrectedMs *stats.Latency   `json:"latencyUncorrectedMs"`
	Thresholds           stats.Thresholds `json:"thresholds"`
	// Histogram is latencyMs's HDR histogram (µs) in hdrhistogram-go's encoded form: base64 of the
	// V2 compressed encoding, exactly what Histogram.Encode returns and hdrhistogram.Decode reads, so
	// the phases of several instances (--segment) can be merged. HistogramUncorrected is that of
	// latencyUncorrectedMs (open model). Empty for a phase without requests.
	Histogram            string `json:"histogram"`
	HistogramUncorrected string `json:"histogramUncorrected,omitempty"`
	Acknowledged         int64  `json:"acknowledged"`
	Rejected             int64  `json:"rejected"`
	Ambiguous            int64  `json:"ambiguous"`
}

// Totals cover every request the tool sent — warm-up and ramps included — because the verifier
// compares them with what the database holds.
type Totals struct {
	Requests     int64            `json:"requests"`
	Acknowledged int64            `json:"acknowledged"`
	Rejected     int64            `json:"rejected"`
	Ambiguous    int64            `json:"ambiguous"`
	ErrorsByCode map[string]int64 `json:"errorsByCode"`
	PayloadBytes PayloadBytes     `json:"payloadBytes"`
	Samples      int64            `json:"samples"` // rows written to --samples
}

// PayloadBytes are the request bodies as sent: REST JSON, gRPC protobuf, or the gRPC-Web frame.
type PayloadBytes struct {
	Size   string  `json:"size"`
	Target int     `json:"targetJsonBytes"`
	Count  int64   `json:"count"`
	Mean   float64 `json:"mean"`
	Min    int64   `json:"min"`
	Max    int64   `json:"max"`
}

// ToolName is the summary's "tool".
const ToolName = "perflab-loadgen"

// Timestamp is RFC 3339 UTC with milliseconds, as the results document wants.
func Timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

func newSummary(cfg Config, started time.Time) *Summary {
	return &Summary{Tool: ToolName, Version: cfg.Version, StartedAt: Timestamp(started), Segment: cfg.Segment.String(),
		Options: cfg.Options, Phases: []PhaseResult{},
		Totals: Totals{ErrorsByCode: map[string]int64{}, PayloadBytes: PayloadBytes{Size: string(cfg.PayloadSize), Target: payload.Sizes[cfg.PayloadSize]}}}
}

func (s *Summary) finish(status string, at time.Time) {
	s.Status = status
	s.Interrupted = status == "interrupted" || status == "capped"
	s.FinishedAt = Timestamp(at)
}

func (s *Summary) addWindows(holds []*window, seg plan.Segment) {
	for _, w := range holds {
		r := phaseResult(w, seg)
		if w.phase.Name == "warmup" && w.label == "warmup" && s.Warmup == nil && len(s.Phases) == 0 {
			s.Warmup = &r
			continue
		}
		s.Phases = append(s.Phases, r)
	}
}

// EncodeHistogram is a phase's `histogram` field: base64 of h's V2 compressed encoding ("" for nil).
func EncodeHistogram(h *hdrhistogram.Histogram) string {
	if h == nil {
		return ""
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase) // already base64 text
	if err != nil {
		return ""
	}
	return string(b)
}

func phaseResult(w *window, seg plan.Segment) PhaseResult {
	end := w.end
	if end.IsZero() {
		end = time.Now()
	}
	snap := w.stats.Snapshot()
	secs := end.Sub(w.start).Seconds()
	r := PhaseResult{Name: w.label, Start: Timestamp(w.start), End: Timestamp(end),
		DurationSeconds: round(secs, 3), Completed: w.done, Requests: snap.Requests, Failures: snap.Failures,
		ErrorsByCode: snap.ErrorsByCode, LatencyMs: snap.Latency, LatencyKind: stats.KindServiceTime,
		LatencyUncorrectedMs: snap.LatencyUncorrected, Thresholds: stats.Check(snap),
		Acknowledged: snap.Acknowledged, Rejected: snap.Rejected, Ambiguous: snap.Ambiguous}
	if secs > 0 {
		r.Throughput = round(float64(snap.Requests)/secs, 1)
	}
	r.Histogram, r.HistogramUncorrected = EncodeHistogram(snap.Histogram), EncodeHistogram(snap.UncorrectedHistogram)
	if w.phase.Open() {
		rate := round(seg.RateShare(w.phase.Rate), 6)
		r.Rate = &rate
		r.LatencyKind = stats.KindResponseTimeCorrected
	} else {
		vus := w.phase.VUs
		r.VUs = &vus
	}
	return r
}

func (s *Summary) addTotals(e *engine) {
	snap := e.totals.Snapshot()
	s.Totals.Requests, s.Totals.Acknowledged = snap.Requests, snap.Acknowledged
	s.Totals.Rejected, s.Totals.Ambiguous = snap.Rejected, snap.Ambiguous
	s.Totals.ErrorsByCode = snap.ErrorsByCode
	if n := e.bytesN.Load(); n > 0 {
		s.Totals.PayloadBytes.Count = n
		s.Totals.PayloadBytes.Mean = round(float64(e.bytesSum.Load())/float64(n), 1)
		s.Totals.PayloadBytes.Min, s.Totals.PayloadBytes.Max = e.bytesMin.Load(), e.bytesMax.Load()
	}
	if e.cfg.MaxVUs > 0 {
		for i := range s.Phases {
			if s.Phases[i].Rate != nil {
				m := e.workers()
				s.Phases[i].MaxVUs = &m
			}
		}
	}
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
