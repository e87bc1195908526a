package runner

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/perflab/apilab/tools/loadgen/internal/plan"
	"github.com/perflab/apilab/tools/loadgen/internal/stats"
	"github.com/perflab/apilab/tools/loadgen/internal/target"
)

// fakeAPI answers like the lab's REST API after delay, and tracks the highest concurrency it saw.
type fakeAPI struct {
	delay    time.Duration
	inFlight atomic.Int64
	peak     atomic.Int64
	requests atomic.Int64
	mu       sync.Mutex
	conns    map[string]bool
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for p := f.peak.Load(); n > p && !f.peak.CompareAndSwap(p, n); p = f.peak.Load() {
	}
	f.requests.Add(1)
	f.mu.Lock()
	f.conns[r.RemoteAddr] = true
	f.mu.Unlock()
	time.Sleep(f.delay)
	_, _ = w.Write([]byte(`{"success":true,"message":"event processed"}`))
}

func serve(t *testing.T, delay time.Duration) (*fakeAPI, target.Target) {
	t.Helper()
	f := &fakeAPI{delay: delay, conns: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	tg, err := target.Parse("rest", srv.URL, false)
	if err != nil {
		t.Fatal(err)
	}
	return f, tg
}

func config(tg target.Target, phases []plan.Phase) Config {
	return Config{Protocol: "rest", Target: tg, Phases: phases, MaxVUs: 10, Timeout: 2 * time.Second,
		PayloadSize: "default", EntityPool: 100, Seed: 1, MaxDuration: 30 * time.Second}
}

func readSamples(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(gz)
	var rows [][]string
	for sc.Scan() {
		rows = append(rows, strings.Split(sc.Text(), ","))
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != "start_unix_ns,latency_us,phase,code,ok" {
		t.Fatalf("samples header: %v", rows)
	}
	return rows[1:]
}

func TestClosedModelPhases(t *testing.T) {
	api, tg := serve(t, 2*time.Millisecond)
	phases, err := plan.Build(plan.Options{Phases: "2:400ms,4:400ms", Scale: 1, Ramp: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config(tg, phases)
	cfg.Warmup = 200 * time.Millisecond
	cfg.SamplesPath = filepath.Join(t.TempDir(), "s.csv.gz")
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != "completed" || sum.Interrupted || sum.Warmup == nil || sum.Warmup.Requests == 0 || len(sum.Phases) != 2 {
		t.Fatalf("summary: %+v", sum)
	}
	var inPhases int64
	for i, p := range sum.Phases {
		if p.Name != []string{"2vus", "4vus"}[i] || *p.VUs != []int{2, 4}[i] || p.Rate != nil || !p.Completed {
			t.Fatalf("phase %d: %+v", i, p)
		}
		start, _ := time.Parse(time.RFC3339Nano, p.Start)
		end, _ := time.Parse(time.RFC3339Nano, p.End)
		if d := end.Sub(start); d < 390*time.Millisecond || d > 600*time.Millisecond || !strings.HasSuffix(p.Start, "Z") || len(p.Start) != 24 {
			t.Fatalf("phase %d window %s..%s", i, p.Start, p.End)
		}
		if p.Requests == 0 || p.Failures != 0 || p.Acknowledged != p.Requests || p.LatencyMs.P50 < 2 || !p.Thresholds.P95 || !p.Thresholds.ErrorRate ||
			p.LatencyKind != "service-time" || p.LatencyUncorrectedMs != nil {
			t.Fatalf("phase %d: %+v", i, p)
		}
		inPhases += p.Requests
	}
	if api.peak.Load() > 4 || len(api.conns) > 4 {
		t.Fatalf("peak concurrency %d over %d connections, want at most 4 VUs", api.peak.Load(), len(api.conns))
	}
	tot := sum.Totals
	if tot.Requests != api.requests.Load() || tot.Acknowledged != tot.Requests || tot.Requests < inPhases+sum.Warmup.Requests || tot.Samples != tot.Requests {
		t.Fatalf("totals %+v, server saw %d", tot, api.requests.Load())
	}
	if tot.PayloadBytes.Min < 392 || tot.PayloadBytes.Max > 408 {
		t.Fatalf("payload bytes %+v", tot.PayloadBytes)
	}
	rows := readSamples(t, cfg.SamplesPath)
	labels := map[string]int{}
	for _, r := range rows {
		labels[r[2]]++
		if r[3] != "200" || r[4] != "1" {
			t.Fatalf("row %v", r)
		}
	}
	// No ramp from the warm-up (already at 2 VUs) into 2vus; a ramp 2→4 before 4vus.
	if int64(len(rows)) != tot.Requests || labels["warmup"] == 0 || labels["4vus/ramp"] == 0 || labels["2vus/ramp"] != 0 ||
		int64(labels["2vus"]) != sum.Phases[0].Requests {
		t.Fatalf("sample labels %v", labels)
	}
}

func TestSmokeIsFiveRequests(t *testing.T) {
	api, tg := serve(t, 0)
	phases, _ := plan.Build(plan.Options{Mode: "smoke", Scale: 1})
	sum, err := Run(context.Background(), config(tg, phases))
	if err != nil {
		t.Fatal(err)
	}
	if api.requests.Load() != 5 || sum.Totals.Requests != 5 || sum.Totals.Acknowledged != 5 || len(sum.Phases) != 1 ||
		sum.Phases[0].Name != "smoke" || sum.Phases[0].Requests != 5 || sum.Warmup != nil || !sum.Phases[0].Completed {
		t.Fatalf("smoke: server saw %d, summary %+v", api.requests.Load(), sum)
	}
}

func TestArrivalOffsets(t *testing.T) {
	for i := 0; i < 10; i++ {
		if got := ArrivalOffset(i, 10, 10, time.Second); got != time.Duration(i)*100*time.Millisecond {
			t.Fatalf("constant rate: arrival %d at %v", i, got)
		}
	}
	if ArrivalOffset(10, 10, 10, time.Second) < time.Second {
		t.Fatal("arrival 10 of 10/s must fall outside a 1 s window")
	}
	// Ramp 0 → 10/s over 2 s: 10 arrivals, the i-th at sqrt(i/2.5) s.
	if got := ArrivalOffset(1, 0, 10, 2*time.Second); got < 632*time.Millisecond || got > 633*time.Millisecond {
		t.Fatalf("ramp arrival 1 at %v", got)
	}
	if ArrivalOffset(9, 0, 10, 2*time.Second) >= 2*time.Second || ArrivalOffset(10, 0, 10, 2*time.Second) < 2*time.Second {
		t.Fatal("ramp must hold exactly 10 arrivals")
	}
}

// TestOpenModelMeasuresFromScheduledTime: 100 requests/s against a server that can do 50/s with one
// worker. A closed loop would report ~20 ms; measured from the schedule, the queue shows.
func TestOpenModelMeasuresFromScheduledTime(t *testing.T) {
	_, tg := serve(t, 20*time.Millisecond)
	run := func(maxVUs int) PhaseResult {
		cfg := config(tg, []plan.Phase{{Name: "100rps", Rate: 100, Hold: time.Second}})
		cfg.MaxVUs = maxVUs
		sum, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		p := sum.Phases[0]
		if p.Requests != 100 || *p.Rate != 100 || p.VUs != nil || *p.MaxVUs != maxVUs {
			t.Fatalf("open phase: %+v", p)
		}
		return p
	}
	starved := run(1)
	if starved.LatencyMs.P50 < 200 || starved.LatencyMs.Max < 600 {
		t.Fatalf("1 worker at twice its capacity: p50 %v max %v ms; queueing must show", starved.LatencyMs.P50, starved.LatencyMs.Max)
	}
	// The same requests from the actual send: the service time only (~20 ms), no queueing.
	u := starved.LatencyUncorrectedMs
	if starved.LatencyKind != "response-time-corrected" || u == nil || u.P50 < 20 || u.P50 > 150 || u.Max >= starved.LatencyMs.Max {
		t.Fatalf("starved: kind %q, uncorrected %+v, corrected %+v", starved.LatencyKind, u, starved.LatencyMs)
	}
	enough := run(10)
	if enough.LatencyMs.P99 > 150 || enough.LatencyMs.P50 < 20 {
		t.Fatalf("10 workers: p50 %v p99 %v ms, want about 20", enough.LatencyMs.P50, enough.LatencyMs.P99)
	}
	if u := enough.LatencyUncorrectedMs; u == nil || u.P50 < 20 || u.P50 > enough.LatencyMs.P50+0.001 {
		t.Fatalf("10 workers: uncorrected %+v, corrected %+v", u, enough.LatencyMs)
	}
}

func TestInterruptStillSummarises(t *testing.T) {
	_, tg := serve(t, time.Millisecond)
	cfg := config(tg, []plan.Phase{{Name: "2vus", VUs: 2, Hold: 20 * time.Second}})
	cfg.SamplesPath = filepath.Join(t.TempDir(), "s.csv.gz")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	began := time.Now()
	sum, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(began) > 2*time.Second {
		t.Fatalf("took %v to stop", time.Since(began))
	}
	if sum.Status != "interrupted" || !sum.Interrupted || sum.Phases[0].Completed || sum.Phases[0].Requests == 0 {
		t.Fatalf("summary %+v", sum)
	}
	if rows := readSamples(t, cfg.SamplesPath); int64(len(rows)) != sum.Totals.Requests {
		t.Fatalf("%d sample rows, %d requests", len(rows), sum.Totals.Requests)
	}
}

func TestMaxDurationCaps(t *testing.T) {
	_, tg := serve(t, time.Millisecond)
	cfg := config(tg, []plan.Phase{{Name: "1vus", VUs: 1, Hold: 20 * time.Second}})
	cfg.MaxDuration = 300 * time.Millisecond
	sum, err := Run(context.Background(), cfg)
	if err != nil || sum.Status != "capped" || !sum.Interrupted {
		t.Fatalf("status %q err %v", sum.Status, err)
	}
}

func TestUnreachable(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	_ = ln.Close()
	tg, _ := target.Parse("rest", "http://"+addr, false)
	sum, err := Run(context.Background(), config(tg, []plan.Phase{{Name: "1vus", VUs: 1, Hold: time.Second}}))
	if !errors.Is(err, ErrUnreachable) || sum.Status != "unreachable" || sum.Totals.Requests != 0 {
		t.Fatalf("err %v summary %+v", err, sum)
	}
}

// TestInterruptBeforeTheProbeIsNotUnreachable: a generator stopped (SIGINT) while it checks its target, e.g.
// by a runner stopping the other instances of a split run after one failed, reports an interruption.
func TestInterruptBeforeTheProbeIsNotUnreachable(t *testing.T) {
	_, tg := serve(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sum, err := Run(ctx, config(tg, []plan.Phase{{Name: "1vus", VUs: 1, Hold: time.Second}}))
	if err != nil || sum.Status != "interrupted" || !sum.Interrupted || sum.Totals.Requests != 0 {
		t.Fatalf("err %v summary %+v", err, sum)
	}
}

func TestInterruptDuringRampReportsNoHold(t *testing.T) {
	_, tg := serve(t, time.Millisecond)
	cfg := config(tg, []plan.Phase{{Name: "20vus", VUs: 20, Ramp: 2 * time.Second, Hold: 10 * time.Second}})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(400*time.Millisecond, cancel)
	sum, err := Run(ctx, cfg)
	if err != nil || sum.Status != "interrupted" || len(sum.Phases) != 0 || sum.Totals.Requests == 0 {
		t.Fatalf("err %v summary %+v", err, sum)
	}
}

// TestSegmentsSplitExactly: two instances (--segment 1/2 and 2/2) started at one agreed time run
// every phase at the same moments and together send exactly the whole run's VUs and arrivals.
func TestSegmentsSplitExactly(t *testing.T) {
	api, tg := serve(t, time.Millisecond)
	startAt := time.Now().Add(300 * time.Millisecond).Truncate(time.Millisecond)
	phases := []plan.Phase{{Name: "3vus", VUs: 3, Hold: 400 * time.Millisecond}, {Name: "60rps", Rate: 60, Hold: time.Second}}
	sums := make([]*Summary, 2)
	done := make(chan int)
	for k := 1; k <= 2; k++ {
		go func(k int) {
			cfg := config(tg, phases)
			cfg.Segment, cfg.StartAt, cfg.MaxVUs = plan.Segment{K: k, N: 2}, startAt, 5
			sum, err := Run(context.Background(), cfg)
			if err != nil {
				t.Error(err)
			}
			sums[k-1] = sum
			done <- k
		}(k)
	}
	<-done
	<-done
	a, b := sums[0], sums[1]
	if a == nil || b == nil || t.Failed() {
		t.FailNow()
	}
	if a.Segment != "1/2" || b.Segment != "2/2" || *a.Phases[0].VUs+*b.Phases[0].VUs != 3 {
		t.Fatalf("segments %s %s, VUs %d + %d", a.Segment, b.Segment, *a.Phases[0].VUs, *b.Phases[0].VUs)
	}
	for i := range phases {
		if a.Phases[i].Start != b.Phases[i].Start {
			t.Fatalf("phase %d starts at %s and %s", i, a.Phases[i].Start, b.Phases[i].Start)
		}
	}
	if a.Phases[0].Start != Timestamp(startAt) {
		t.Fatalf("first phase at %s, agreed %s", a.Phases[0].Start, Timestamp(startAt))
	}
	open := []PhaseResult{a.Phases[1], b.Phases[1]}
	if open[0].Requests != 30 || open[1].Requests != 30 || *open[0].Rate != 30 || *open[0].MaxVUs+*open[1].MaxVUs != 5 {
		t.Fatalf("open phase: %d + %d requests (rate %v), want 30 + 30", open[0].Requests, open[1].Requests, *open[0].Rate)
	}
	if a.Totals.Requests+b.Totals.Requests != api.requests.Load() {
		t.Fatalf("totals %d + %d, server saw %d", a.Totals.Requests, b.Totals.Requests, api.requests.Load())
	}
	// The encoded histograms merge into the phase's whole count.
	merged := hdrhistogram.New(stats.LowestMicros, stats.HighestMicros, stats.SignificantDigits)
	for _, p := range open {
		h, err := hdrhistogram.Decode([]byte(p.Histogram))
		if err != nil || p.HistogramUncorrected == "" {
			t.Fatalf("histogram: %v", err)
		}
		merged.Merge(h)
	}
	if merged.TotalCount() != 60 {
		t.Fatalf("merged histogram holds %d values", merged.TotalCount())
	}
}
