package merge

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/perflab/apilab/tools/loadgen/internal/plan"
	"github.com/perflab/apilab/tools/loadgen/internal/runner"
	"github.com/perflab/apilab/tools/loadgen/internal/stats"
	"github.com/perflab/apilab/tools/loadgen/internal/target"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// phaseOf is what loadgen run reports for a hold window with these figures (runner.phaseResult).
func phaseOf(name string, w *stats.Window, start, end time.Time, rate float64) runner.PhaseResult {
	snap := w.Snapshot()
	secs := end.Sub(start).Seconds()
	r := runner.PhaseResult{Name: name, Rate: &rate, Start: runner.Timestamp(start), End: runner.Timestamp(end),
		DurationSeconds: round(secs, 3), Completed: true, Requests: snap.Requests, Failures: snap.Failures,
		ErrorsByCode: snap.ErrorsByCode, Throughput: round(float64(snap.Requests)/secs, 1), LatencyMs: snap.Latency,
		LatencyKind: stats.KindResponseTimeCorrected, LatencyUncorrectedMs: snap.LatencyUncorrected,
		Thresholds: stats.Check(snap), Histogram: runner.EncodeHistogram(snap.Histogram),
		HistogramUncorrected: runner.EncodeHistogram(snap.UncorrectedHistogram),
		Acknowledged:         snap.Acknowledged, Rejected: snap.Rejected, Ambiguous: snap.Ambiguous}
	return r
}

// viaJSON writes s as loadgen does and reads it back as `loadgen merge` does.
func viaJSON(t *testing.T, s any) *Summary {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out Summary
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func decode(t *testing.T, encoded string) *hdrhistogram.Histogram {
	t.Helper()
	h, err := hdrhistogram.Decode([]byte(encoded))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// synthetic builds the summaries of n instances that split one run's requests (arrival i goes to
// instance i mod n), and the window of all of them together: what one generator would have recorded.
func synthetic(t *testing.T, n int, seed uint64) ([]Input, *stats.Window, *stats.Window) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	phases := []string{"100rps", "200rps"}
	wins := make([][]*stats.Window, n)
	union := []*stats.Window{stats.NewOpenWindow(), stats.NewOpenWindow()}
	for k := range wins {
		wins[k] = []*stats.Window{stats.NewOpenWindow(), stats.NewOpenWindow()}
	}
	codes := []string{"400", "503", "transport", "timeout"}
	for p := range phases {
		for i := 0; i < 5000+p*3001; i++ {
			// Heavy-tailed: most around a millisecond, some up to seconds (queueing).
			service := int64(math.Exp(rng.NormFloat64()*0.9 + 7))
			queued := int64(0)
			if rng.IntN(20) == 0 {
				queued = rng.Int64N(3_000_000)
			}
			ok, code, class := true, "200", stats.Acknowledged
			if rng.IntN(50) == 0 {
				code = codes[rng.IntN(len(codes))]
				ok, class = false, stats.Rejected
				if code == "transport" || code == "timeout" {
					class = stats.Ambiguous
				}
			}
			wins[i%n][p].RecordAt(rng.IntN(8), service+queued, service, code, ok, class)
			union[p].RecordAt(i, service+queued, service, code, ok, class)
		}
	}
	inputs := make([]Input, n)
	for k := 0; k < n; k++ {
		seg := plan.Segment{K: k + 1, N: n}
		s := runner.Summary{Tool: runner.ToolName, Version: "perflab-loadgen test", Status: "completed",
			StartedAt: runner.Timestamp(t0.Add(-time.Second)), FinishedAt: runner.Timestamp(t0.Add(21*time.Second + time.Duration(k)*time.Millisecond)),
			Segment: seg.String(), Options: map[string]any{"protocol": "rest", "rate": 300, "segment": seg.String(),
				"seed": 1000 + k, "startAt": runner.Timestamp(t0), "maxDuration": fmt.Sprintf("%ds", 60+k)}}
		for p, name := range phases {
			start := t0.Add(time.Duration(p) * 10 * time.Second)
			// Ends differ by each instance's drain.
			end := start.Add(10*time.Second + time.Duration(k*3+p)*time.Millisecond)
			s.Phases = append(s.Phases, phaseOf(name, wins[k][p], start, end, float64(100*(p+1))/float64(n)))
		}
		s.Totals = runner.Totals{Requests: s.Phases[0].Requests + s.Phases[1].Requests, ErrorsByCode: map[string]int64{},
			PayloadBytes: runner.PayloadBytes{Size: "default", Target: 400, Count: 10, Mean: 400 + float64(k), Min: 390 + int64(k), Max: 410 + int64(k)}}
		for _, ph := range s.Phases {
			s.Totals.Acknowledged += ph.Acknowledged
			s.Totals.Rejected += ph.Rejected
			s.Totals.Ambiguous += ph.Ambiguous
			for c, v := range ph.ErrorsByCode {
				s.Totals.ErrorsByCode[c] += v
			}
		}
		inputs[k] = Input{Source: fmt.Sprintf("s%d.json", k+1), Summary: viaJSON(t, s)}
	}
	return inputs, union[0], union[1]
}

// TestMergeEqualsTheUnionOfSamples: the merge of the instances' summaries is the summary one
// generator would have written for all their requests: the same histogram (Equals), the same
// percentiles and max, counts exact; the mean to within its 1 µs rounding.
func TestMergeEqualsTheUnionOfSamples(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4} {
		t.Run(fmt.Sprintf("%d instances", n), func(t *testing.T) {
			inputs, u0, u1 := synthetic(t, n, uint64(n))
			// Given in any order.
			rand.Shuffle(len(inputs), func(i, j int) { inputs[i], inputs[j] = inputs[j], inputs[i] })
			merged, err := Merge(inputs)
			if err != nil {
				t.Fatal(err)
			}
			merged = viaJSON(t, merged) // what a reader of the merged file gets
			for p, union := range []*stats.Window{u0, u1} {
				want, got := union.Snapshot(), merged.Phases[p]
				if !decode(t, got.Histogram).Equals(want.Histogram) {
					t.Fatalf("phase %d: merged histogram differs from the union's", p)
				}
				if !decode(t, got.HistogramUncorrected).Equals(want.UncorrectedHistogram) {
					t.Fatalf("phase %d: merged uncorrected histogram differs from the union's", p)
				}
				if got.Requests != want.Requests || got.Failures != want.Failures || got.Acknowledged != want.Acknowledged ||
					got.Rejected != want.Rejected || got.Ambiguous != want.Ambiguous {
					t.Fatalf("phase %d: counts %+v, union %+v", p, got, want)
				}
				for code, v := range want.ErrorsByCode {
					if got.ErrorsByCode[code] != v {
						t.Fatalf("phase %d: errors %v, union %v", p, got.ErrorsByCode, want.ErrorsByCode)
					}
				}
				for name, pair := range map[string][2]stats.Latency{"corrected": {got.LatencyMs, want.Latency},
					"uncorrected": {*got.LatencyUncorrectedMs, *want.LatencyUncorrected}} {
					g, w := pair[0], pair[1]
					if g.P50 != w.P50 || g.P90 != w.P90 || g.P95 != w.P95 || g.P99 != w.P99 || g.P999 != w.P999 || g.Max != w.Max {
						t.Fatalf("phase %d %s: merged %+v, union %+v", p, name, g, w)
					}
					if math.Abs(g.Mean-w.Mean) > 0.0011 {
						t.Fatalf("phase %d %s: mean %v, union %v", p, name, g.Mean, w.Mean)
					}
				}
				if got.Thresholds != stats.Check(want) {
					t.Fatalf("phase %d: thresholds %+v, union %+v", p, got.Thresholds, stats.Check(want))
				}
				if *got.Rate != float64(100*(p+1)) || got.Start != runner.Timestamp(t0.Add(time.Duration(p)*10*time.Second)) {
					t.Fatalf("phase %d: rate %v start %s", p, *got.Rate, got.Start)
				}
				// The window: earliest start to latest end (the slowest instance's drain).
				wantEnd := t0.Add(time.Duration(p)*10*time.Second + 10*time.Second + time.Duration((n-1)*3+p)*time.Millisecond)
				if got.End != runner.Timestamp(wantEnd) || got.DurationSeconds != round(wantEnd.Sub(t0.Add(time.Duration(p)*10*time.Second)).Seconds(), 3) {
					t.Fatalf("phase %d: window %s..%s (%v s)", p, got.Start, got.End, got.DurationSeconds)
				}
				if got.Throughput != round(float64(got.Requests)/got.DurationSeconds, 1) {
					t.Fatalf("phase %d: throughput %v for %d requests in %v s", p, got.Throughput, got.Requests, got.DurationSeconds)
				}
			}
			if len(merged.Generators) != n || merged.Segment != "1/1" || merged.Status != "completed" {
				t.Fatalf("generators %d, segment %s, status %s", len(merged.Generators), merged.Segment, merged.Status)
			}
			var requests int64
			for k, g := range merged.Generators {
				if g.Segment != (plan.Segment{K: k + 1, N: n}).String() || len(g.Phases) != 2 || g.Phases[0].Throughput <= 0 {
					t.Fatalf("generator %d: %+v", k, g)
				}
				requests += g.Totals.Requests
			}
			tot := merged.Totals
			if tot.Requests != requests || tot.Requests != u0.Snapshot().Requests+u1.Snapshot().Requests ||
				tot.Acknowledged+tot.Rejected+tot.Ambiguous != tot.Requests || tot.PayloadBytes.Count != int64(10*n) ||
				tot.PayloadBytes.Min != 390 || tot.PayloadBytes.Max != int64(409+n) {
				t.Fatalf("totals %+v", tot)
			}
			opts := merged.Options.(map[string]any)
			if opts["segment"] != "1/1" || opts["seed"] != nil || opts["startAt"] != runner.Timestamp(t0) {
				t.Fatalf("options %v", opts)
			}
		})
	}
}

func TestPercentilesAreNeverAveraged(t *testing.T) {
	// One fast instance, one slow: the merged p50 is the union's, not the mean of the two p50s.
	fast, slow := stats.NewWindow(), stats.NewWindow()
	for i := 0; i < 900; i++ {
		fast.Record(1000, "200", true, stats.Acknowledged)
	}
	for i := 0; i < 100; i++ {
		slow.Record(500_000, "200", true, stats.Acknowledged)
	}
	inputs, _, _ := synthetic(t, 2, 9)
	inputs[0].Summary.Phases[0] = phaseOf("100rps", fast, t0, t0.Add(10*time.Second), 50)
	inputs[1].Summary.Phases[0] = phaseOf("100rps", slow, t0, t0.Add(10*time.Second), 50)
	merged, err := Merge(inputs)
	if err != nil {
		t.Fatal(err)
	}
	if l := merged.Phases[0].LatencyMs; l.P50 != 1 || l.P90 != 1 || l.P95 != 500.223 || l.Max != 500 || l.Mean != 50.9 {
		t.Fatalf("merged latency %+v", l)
	}
}

func TestRefusesInputsThatDoNotMakeOneRun(t *testing.T) {
	cases := []struct {
		name    string
		n       int
		mutate  func(in []Input) []Input
		message string
	}{
		{"no segment", 2, func(in []Input) []Input { in[1].Summary.Segment = ""; return in }, "s2.json has no segment"},
		{"duplicate", 3, func(in []Input) []Input {
			in[2].Summary.Segment = "2/3"
			return in
		}, "segment 2/3 appears twice (s2.json and s3.json)"},
		{"missing part", 3, func(in []Input) []Input { return in[:2] }, "segment 3/3 missing"},
		{"different N", 2, func(in []Input) []Input { in[1].Summary.Segment = "2/3"; return in }, "share N"},
		{"a whole run among parts", 2, func(in []Input) []Input { in[1].Summary.Segment = "1/1"; return in }, "share N"},
		{"different rate", 2, func(in []Input) []Input {
			in[1].Summary.Options.(map[string]any)["rate"] = 400.0
			return in
		}, "ran different plans (rate 300 vs 400)"},
		{"different start", 2, func(in []Input) []Input {
			in[1].Summary.Options.(map[string]any)["startAt"] = "2026-03-01T12:00:05.000Z"
			return in
		}, "ran different plans (startAt"},
		{"no start-at", 2, func(in []Input) []Input {
			for _, i := range in {
				delete(i.Summary.Options.(map[string]any), "startAt")
			}
			return in
		}, "without --start-at"},
		{"same seed", 2, func(in []Input) []Input {
			in[1].Summary.Options.(map[string]any)["seed"] = in[0].Summary.Options.(map[string]any)["seed"]
			return in
		}, "used the same seed 1000"},
		{"different version", 2, func(in []Input) []Input { in[1].Summary.Version = "perflab-loadgen 0.0.9"; return in }, "same loadgen"},
		{"different phases", 2, func(in []Input) []Input { in[1].Summary.Phases[1].Name = "300rps"; return in }, "phase 2 is 200rps in s1.json but 300rps in s2.json"},
		{"fewer phases", 2, func(in []Input) []Input { in[1].Summary.Phases = in[1].Summary.Phases[:1]; return in }, "has 2 phases, s2.json has 1"},
		{"already merged", 2, func(in []Input) []Input {
			in[0].Summary.Generators = []Generator{{Segment: "1/2"}, {Segment: "2/2"}}
			return in
		}, "already a merge of 2 generators"},
		{"histogram and requests disagree", 2, func(in []Input) []Input { in[1].Summary.Phases[0].Requests++; return in }, "histogram holds"},
		{"no histogram", 2, func(in []Input) []Input { in[0].Summary.Phases[0].Histogram = ""; return in }, "no histogram"},
		{"not loadgen", 2, func(in []Input) []Input { in[0].Summary.Tool = "k6"; return in }, "not a loadgen summary"},
		{"nothing", 2, func(in []Input) []Input { return nil }, "nothing to merge"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inputs, _, _ := synthetic(t, c.n, 3)
			_, err := Merge(c.mutate(inputs))
			if err == nil || !strings.Contains(err.Error(), c.message) {
				t.Fatalf("error %v, want %q", err, c.message)
			}
		})
	}
}

func TestAnInterruptedRunKeepsThePhasesEveryInstanceReported(t *testing.T) {
	inputs, _, _ := synthetic(t, 2, 5)
	for _, in := range inputs {
		in.Summary.Status, in.Summary.Interrupted = "interrupted", true
	}
	inputs[0].Summary.Phases = inputs[0].Summary.Phases[:1]
	inputs[1].Summary.Phases[1].Completed = false
	merged, err := Merge(inputs)
	if err != nil {
		t.Fatal(err)
	}
	if len(merged.Phases) != 1 || merged.Status != "interrupted" || !merged.Interrupted ||
		len(merged.Problems) != 1 || !strings.Contains(merged.Problems[0], "phase 200rps left out") {
		t.Fatalf("phases %d status %s problems %v", len(merged.Phases), merged.Status, merged.Problems)
	}
}

// --- a real split run -------------------------------------------------------------------------------

type api struct {
	requests atomic.Int64
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := a.requests.Add(1)
	time.Sleep(time.Duration(200+n%7*300) * time.Microsecond)
	if n%97 == 0 {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"success":false,"message":"bad"}`))
		return
	}
	_, _ = w.Write([]byte(`{"success":true,"message":"event processed"}`))
}

// unionOfSamples is the histogram of the requests of one hold, read from the instances' raw samples
// (the latency the phase reports; canceled requests are left out of phases, as the runner does).
func unionOfSamples(t *testing.T, paths []string, phase string) *hdrhistogram.Histogram {
	t.Helper()
	h := stats.NewHistogram()
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(gz)
		sc.Scan() // header
		for sc.Scan() {
			row := strings.Split(sc.Text(), ",")
			if row[2] != phase || row[3] == "canceled" {
				continue
			}
			v, _ := strconv.ParseInt(row[1], 10, 64)
			_ = h.RecordValue(min(max(v, stats.LowestMicros), stats.HighestMicros))
		}
		_ = f.Close()
	}
	return h
}

// TestMergeOfARealSplitRun: three instances run one plan (a warm-up, an open phase, a closed one)
// against one server at one agreed start; the merge holds exactly the plan's arrivals, the server's
// request count, and per phase the histogram of the union of the instances' raw samples.
func TestMergeOfARealSplitRun(t *testing.T) {
	server := &api{}
	srv := httptest.NewServer(server)
	defer srv.Close()
	tg, err := target.Parse("rest", srv.URL, false)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3
	startAt := time.Now().Add(400 * time.Millisecond).Truncate(time.Millisecond)
	phases := []plan.Phase{{Name: "150rps", Rate: 150, Hold: 1200 * time.Millisecond},
		{Name: "5vus", VUs: 5, Hold: 500 * time.Millisecond}}
	dir := t.TempDir()
	inputs := make([]Input, n)
	samples := make([]string, n)
	var wg sync.WaitGroup
	for k := 1; k <= n; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			seg := plan.Segment{K: k, N: n}
			samples[k-1] = filepath.Join(dir, fmt.Sprintf("samples-%d.csv.gz", k))
			cfg := runner.Config{Protocol: "rest", Target: tg, Phases: phases, Warmup: 300 * time.Millisecond,
				MaxVUs: 12, Timeout: 2 * time.Second, PayloadSize: "default", EntityPool: 100, Seed: uint64(10 + k),
				MaxDuration: 30 * time.Second, Segment: seg, StartAt: startAt, SamplesPath: samples[k-1],
				Options: map[string]any{"protocol": "rest", "rate": 150, "segment": seg.String(), "seed": 10 + k,
					"startAt": runner.Timestamp(startAt)}, Version: "perflab-loadgen test"}
			sum, err := runner.Run(context.Background(), cfg)
			if err != nil {
				t.Error(err)
				return
			}
			inputs[k-1] = Input{Source: fmt.Sprintf("generator-%d/summary.json", k), Summary: viaJSON(t, sum)}
		}(k)
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	merged, err := Merge([]Input{inputs[2], inputs[0], inputs[1]})
	if err != nil {
		t.Fatal(err)
	}
	open, closed := merged.Phases[0], merged.Phases[1]
	// Open model: exactly rate × hold arrivals, whatever the split.
	if open.Requests != 180 || *open.Rate != 150 || *open.MaxVUs != 12 || open.Start != runner.Timestamp(startAt.Add(300*time.Millisecond)) {
		t.Fatalf("open phase: %d requests at %v/s (max VUs %v) from %s", open.Requests, *open.Rate, *open.MaxVUs, open.Start)
	}
	if *closed.VUs != 5 || closed.Requests == 0 || merged.Warmup == nil || merged.Warmup.Requests != 45 {
		t.Fatalf("closed phase %d VUs %d requests; warm-up %+v", *closed.VUs, closed.Requests, merged.Warmup)
	}
	for _, p := range append([]runner.PhaseResult{*merged.Warmup}, merged.Phases...) {
		if !decode(t, p.Histogram).Equals(unionOfSamples(t, samples, p.Name)) {
			t.Fatalf("phase %s: merged histogram is not the union of the instances' samples", p.Name)
		}
		var parts int64
		for _, in := range inputs {
			for _, q := range append([]runner.PhaseResult{*in.Summary.Warmup}, in.Summary.Phases...) {
				if q.Name == p.Name {
					parts += q.Requests
				}
			}
		}
		if p.Requests != parts || p.Failures != p.ErrorsByCode["400"] {
			t.Fatalf("phase %s: %d requests (parts %d), failures %d %v", p.Name, p.Requests, parts, p.Failures, p.ErrorsByCode)
		}
	}
	if merged.Totals.Requests != server.requests.Load() || merged.Totals.Samples != merged.Totals.Requests ||
		merged.Totals.Acknowledged+merged.Totals.Rejected != merged.Totals.Requests {
		t.Fatalf("totals %+v; the server saw %d", merged.Totals, server.requests.Load())
	}
	if len(merged.Generators) != n || merged.Generators[0].Segment != "1/3" || merged.Generators[0].Seed != 11.0 {
		t.Fatalf("generators %+v", merged.Generators)
	}
}

func TestTheWholeRateFromRoundedShares(t *testing.T) {
	share := round(40.0/3, 6) // what each of 3 instances reports
	sum := 3 * share
	for _, c := range []struct {
		options any
		want    float64
	}{{map[string]any{"rate": 40.0}, 40}, {nil, 40}, {map[string]any{"rate": 41.0}, 40}} {
		if got := wholeRate(sum, 3, c.options); got != c.want {
			t.Fatalf("wholeRate(%v, options %v) = %v, want %v", sum, c.options, got, c.want)
		}
	}
	if got := wholeRate(12.3456789, 1, nil); got != 12.345679 {
		t.Fatalf("an uneven rate: %v", got)
	}
}
