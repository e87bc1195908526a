// Package stats aggregates request outcomes of one window: an HDR histogram of latencies recorded in
// microseconds, error counts by code, and the outcome classes the verifier needs.
package stats

import (
	"math"
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Class is what a response tells about the event's fate.
type Class int

const (
	Acknowledged Class = iota // success: the server promised the event is stored
	Rejected                  // a definitive non-success: nothing was stored
	Ambiguous                 // transport error or timeout: it may or may not be stored
)

// highestMicros bounds the histogram: one hour, far above any --timeout.
const highestMicros = int64(3600 * 1e6)

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

// Window is safe for concurrent use.
type Window struct {
	mu           sync.Mutex
	hist         *hdrhistogram.Histogram
	requests     int64
	failures     int64
	classes      [3]int64
	errorsByCode map[string]int64
	sumMicros    float64
	maxMicros    int64
}

// NewWindow returns an empty window.
func NewWindow() *Window {
	return &Window{hist: hdrhistogram.New(1, highestMicros, 3), errorsByCode: map[string]int64{}}
}

// Record adds one request. code is the HTTP status, gRPC code name, "transport" or "timeout".
func (w *Window) Record(latencyMicros int64, code string, ok bool, class Class) {
	if latencyMicros < 1 {
		latencyMicros = 1
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = w.hist.RecordValue(min(latencyMicros, highestMicros))
	w.requests++
	w.classes[class]++
	if !ok {
		w.failures++
		w.errorsByCode[code]++
	}
	w.sumMicros += float64(latencyMicros)
	w.maxMicros = max(w.maxMicros, latencyMicros)
}

// Snapshot is a copy of a window's figures.
type Snapshot struct {
	Requests     int64
	Failures     int64
	Acknowledged int64
	Rejected     int64
	Ambiguous    int64
	ErrorsByCode map[string]int64
	Latency      Latency
}

// Snapshot computes the figures so far.
func (w *Window) Snapshot() Snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := Snapshot{Requests: w.requests, Failures: w.failures, Acknowledged: w.classes[Acknowledged],
		Rejected: w.classes[Rejected], Ambiguous: w.classes[Ambiguous], ErrorsByCode: map[string]int64{}}
	for k, v := range w.errorsByCode {
		s.ErrorsByCode[k] = v
	}
	if w.requests > 0 {
		q := func(p float64) float64 { return ms(float64(w.hist.ValueAtQuantile(p))) }
		s.Latency = Latency{P50: q(50), P90: q(90), P95: q(95), P99: q(99), P999: q(99.9),
			// Max and mean are exact; the histogram's are rounded to its buckets.
			Max: ms(float64(w.maxMicros)), Mean: ms(w.sumMicros / float64(w.requests))}
	}
	return s
}

// P95 is the 95th percentile so far, in ms (for progress lines).
func (w *Window) P95() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.requests == 0 {
		return 0
	}
	return ms(float64(w.hist.ValueAtQuantile(95)))
}

// ms converts µs to ms, rounded to µs precision.
func ms(micros float64) float64 { return math.Round(micros) / 1000 }

// Thresholds of the lab: p95 < 2 s, p99 < 5 s, error rate < 5 %.
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
	return Thresholds{P95: s.Latency.P95 < 2000, P99: s.Latency.P99 < 5000,
		ErrorRate: float64(s.Failures)/float64(s.Requests) < 0.05}
}
