// Package stats aggregates request outcomes of one window: an HDR histogram of latencies recorded in
// microseconds, error counts by code, and the outcome classes the verifier needs.
package stats

import (
	"math"
	"sync"
	"sync/atomic"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Class is what a response tells about the event's fate.
type Class int

const (
	Acknowledged Class = iota // success: the server promised the event is stored
	Rejected                  // a definitive non-success: nothing was stored
	Ambiguous                 // transport error or timeout: it may or may not be stored
)

// The histogram: latencies in µs from 1 µs to one hour (far above any --timeout), 3 significant digits.
const (
	LowestMicros      = int64(1)
	HighestMicros     = int64(3600 * 1e6)
	SignificantDigits = 3
)

// What a phase's latency percentiles measure (its latencyKind).
const (
	// KindServiceTime: closed model, from the actual send to the full response read.
	KindServiceTime = "service-time"
	// KindResponseTimeCorrected: open model, from the scheduled send time to the full response read,
	// so queueing behind a slow server or the in-flight cap counts (no coordinated omission).
	KindResponseTimeCorrected = "response-time-corrected"
)

// Latency is a summary in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Shards is how many independently locked parts a Window has: a VU records into the shard of its
// index, so VUs almost never wait for each other; figures are merged when read.
const Shards = 8

// Window is safe for concurrent use. Its histogram is of the latency a phase reports (service time
// in the closed model, the corrected response time in the open model); a window made with
// NewOpenWindow also keeps the uncorrected one (from the actual send).
type Window struct {
	uncorrected bool
	shards      [Shards]shard
}

type shard struct {
	mu           sync.Mutex
	hist         *hdrhistogram.Histogram // created on the first record
	uhist        *hdrhistogram.Histogram
	requests     int64
	failures     int64
	classes      [3]int64
	errorsByCode map[string]int64
	sumMicros    float64
	maxMicros    int64
	uSumMicros   float64
	uMaxMicros   int64
	_            [64]byte // keeps shards on separate cache lines
}

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(LowestMicros, HighestMicros, SignificantDigits)
}

// NewHistogram returns an empty histogram of the lab's configuration (µs, LowestMicros to
// HighestMicros, SignificantDigits): the one every window records into and a merge adds up in.
func NewHistogram() *hdrhistogram.Histogram { return newHist() }

// NewWindow returns an empty window.
func NewWindow() *Window { return &Window{} }

// NewOpenWindow returns an empty window that also records the uncorrected latency.
func NewOpenWindow() *Window { return &Window{uncorrected: true} }

// Record adds one request. code is the HTTP status, gRPC code name, "transport" or "timeout".
func (w *Window) Record(latencyMicros int64, code string, ok bool, class Class) {
	w.RecordAt(0, latencyMicros, latencyMicros, code, ok, class)
}

// RecordAt adds one request into shard hint % Shards. latencyMicros is the reported latency;
// uncorrectedMicros (kept by open windows only) is measured from the actual send.
func (w *Window) RecordAt(hint int, latencyMicros, uncorrectedMicros int64, code string, ok bool, class Class) {
	latencyMicros = clamp(latencyMicros)
	s := &w.shards[uint(hint)%Shards]
	s.mu.Lock()
	if s.hist == nil {
		s.hist = newHist()
		if w.uncorrected {
			s.uhist = newHist()
		}
	}
	_ = s.hist.RecordValue(latencyMicros)
	s.sumMicros += float64(latencyMicros)
	s.maxMicros = max(s.maxMicros, latencyMicros)
	if s.uhist != nil {
		u := clamp(uncorrectedMicros)
		_ = s.uhist.RecordValue(u)
		s.uSumMicros += float64(u)
		s.uMaxMicros = max(s.uMaxMicros, u)
	}
	s.requests++
	s.classes[class]++
	if !ok {
		s.failures++
		if s.errorsByCode == nil {
			s.errorsByCode = map[string]int64{}
		}
		s.errorsByCode[code]++
	}
	s.mu.Unlock()
}

func clamp(micros int64) int64 { return min(max(micros, 1), HighestMicros) }

// Snapshot is a copy of a window's figures.
type Snapshot struct {
	Requests     int64
	Failures     int64
	Acknowledged int64
	Rejected     int64
	Ambiguous    int64
	ErrorsByCode map[string]int64
	Latency      Latency
	// LatencyUncorrected is set for open windows: the same requests measured from the actual send.
	LatencyUncorrected *Latency
	// Histogram is the merged histogram of Latency, UncorrectedHistogram that of
	// LatencyUncorrected (nil without requests).
	Histogram            *hdrhistogram.Histogram
	UncorrectedHistogram *hdrhistogram.Histogram
}

// Snapshot computes the figures so far.
func (w *Window) Snapshot() Snapshot {
	s := Snapshot{ErrorsByCode: map[string]int64{}}
	var hist, uhist *hdrhistogram.Histogram
	var sum, usum float64
	var mx, umx int64
	for i := range w.shards {
		sh := &w.shards[i]
		sh.mu.Lock()
		s.Requests += sh.requests
		s.Failures += sh.failures
		s.Acknowledged += sh.classes[Acknowledged]
		s.Rejected += sh.classes[Rejected]
		s.Ambiguous += sh.classes[Ambiguous]
		for k, v := range sh.errorsByCode {
			s.ErrorsByCode[k] += v
		}
		if sh.hist != nil {
			if hist == nil {
				hist = newHist()
			}
			hist.Merge(sh.hist)
			sum += sh.sumMicros
			mx = max(mx, sh.maxMicros)
		}
		if sh.uhist != nil {
			if uhist == nil {
				uhist = newHist()
			}
			uhist.Merge(sh.uhist)
			usum += sh.uSumMicros
			umx = max(umx, sh.uMaxMicros)
		}
		sh.mu.Unlock()
	}
	if w.uncorrected {
		s.LatencyUncorrected = &Latency{}
	}
	if s.Requests > 0 {
		s.Histogram = hist
		s.Latency = summarize(hist, sum, mx, s.Requests)
		if uhist != nil {
			u := summarize(uhist, usum, umx, s.Requests)
			s.LatencyUncorrected, s.UncorrectedHistogram = &u, uhist
		}
	}
	return s
}

// Summarize is the Latency a window reports for its n requests: percentiles from histogram h (µs),
// max and mean exact from the largest value mx and the sum of all values (µs). A merge of several
// windows (loadgen merge) reports its merged histogram through the same code.
func Summarize(h *hdrhistogram.Histogram, sumMicros float64, maxMicros, n int64) Latency {
	return summarize(h, sumMicros, maxMicros, n)
}

func summarize(h *hdrhistogram.Histogram, sum float64, mx, n int64) Latency {
	q := func(p float64) float64 { return ms(float64(h.ValueAtQuantile(p))) }
	return Latency{P50: q(50), P90: q(90), P95: q(95), P99: q(99), P999: q(99.9),
		// Max and mean are exact; the histogram's are rounded to its buckets.
		Max: ms(float64(mx)), Mean: ms(sum / float64(n))}
}

// Counters count outcomes without latencies (the run's totals): lock-free but for error codes.
type Counters struct {
	requests atomic.Int64
	classes  [3]atomic.Int64
	mu       sync.Mutex
	errors   map[string]int64
}

// Add counts one request.
func (c *Counters) Add(code string, ok bool, class Class) {
	c.requests.Add(1)
	c.classes[class].Add(1)
	if !ok {
		c.mu.Lock()
		if c.errors == nil {
			c.errors = map[string]int64{}
		}
		c.errors[code]++
		c.mu.Unlock()
	}
}

// Snapshot returns the counts (Latency is empty).
func (c *Counters) Snapshot() Snapshot {
	s := Snapshot{Requests: c.requests.Load(), Acknowledged: c.classes[Acknowledged].Load(),
		Rejected: c.classes[Rejected].Load(), Ambiguous: c.classes[Ambiguous].Load(), ErrorsByCode: map[string]int64{}}
	c.mu.Lock()
	for k, v := range c.errors {
		s.ErrorsByCode[k] = v
		s.Failures += v
	}
	c.mu.Unlock()
	return s
}

// ms converts µs to ms, rounded to µs precision.
func ms(micros float64) float64 { return math.Round(micros) / 1000 }

// The lab's thresholds, per phase: p95 < 2 s, p99 < 5 s, error rate < 5 % (each a strict "<").
const (
	P95LimitMs     = 2000.0
	P99LimitMs     = 5000.0
	ErrorRateLimit = 0.05
)

// Thresholds of the lab: p95 < P95LimitMs, p99 < P99LimitMs, error rate < ErrorRateLimit.
type Thresholds struct {
	P95       bool `json:"p95"`
	P99       bool `json:"p99"`
	ErrorRate bool `json:"errorRate"`
}

// Check evaluates the thresholds. A window without requests passes none: nothing was shown.
func Check(s Snapshot) Thresholds {
	if s.Requests == 0 {
		return Thresholds{}
	}
	return Thresholds{P95: s.Latency.P95 < P95LimitMs, P99: s.Latency.P99 < P99LimitMs,
		ErrorRate: float64(s.Failures)/float64(s.Requests) < ErrorRateLimit}
}
