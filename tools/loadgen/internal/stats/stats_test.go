package stats

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

func near(got, want, relTol float64) bool { return math.Abs(got-want) <= want*relTol }

func TestPercentilesOfKnownData(t *testing.T) {
	w := NewWindow()
	// 1 ms .. 1000 ms, once each, recorded in µs; concurrently, as VUs do.
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for v := 1 + g; v <= 1000; v += 4 {
				w.Record(int64(v)*1000, "200", true, Acknowledged)
			}
		}(g)
	}
	wg.Wait()
	s := w.Snapshot()
	want := map[string][2]float64{"p50": {s.Latency.P50, 500}, "p90": {s.Latency.P90, 900}, "p95": {s.Latency.P95, 950},
		"p99": {s.Latency.P99, 990}, "p999": {s.Latency.P999, 999}}
	for name, gw := range want {
		if !near(gw[0], gw[1], 0.002) { // 3 significant digits
			t.Errorf("%s = %v ms, want %v ±0.2 %%", name, gw[0], gw[1])
		}
	}
	if s.Latency.Max != 1000 || s.Latency.Mean != 500.5 || s.Requests != 1000 || s.Acknowledged != 1000 {
		t.Errorf("max %v mean %v requests %d", s.Latency.Max, s.Latency.Mean, s.Requests)
	}
}

func TestSkewedTail(t *testing.T) {
	w := NewWindow()
	for i := 0; i < 990; i++ {
		w.Record(2000, "200", true, Acknowledged) // 2 ms
	}
	for i := 0; i < 10; i++ {
		w.Record(3_000_000, "timeout", false, Ambiguous) // 3 s
	}
	s := w.Snapshot()
	if !near(s.Latency.P99, 2, 0.002) || !near(s.Latency.P999, 3000, 0.002) {
		t.Fatalf("p99 %v p999 %v", s.Latency.P99, s.Latency.P999)
	}
	th := Check(s)
	if !th.P95 || !th.P99 || !th.ErrorRate || s.ErrorsByCode["timeout"] != 10 || s.Ambiguous != 10 {
		t.Fatalf("thresholds %+v snapshot %+v", th, s)
	}
}

func TestThresholdBreaks(t *testing.T) {
	w := NewWindow()
	for i := 0; i < 100; i++ {
		code, ok, class := "200", true, Acknowledged
		if i%10 == 0 {
			code, ok, class = "503", false, Rejected
		}
		w.Record(int64(2500+i)*1000, code, ok, class)
	}
	th := Check(w.Snapshot())
	if th.P95 || !th.P99 || th.ErrorRate {
		t.Fatalf("got %+v, want p95 broken (2.5 s), p99 kept, error rate (10 %%) broken", th)
	}
	if (Check(NewWindow().Snapshot()) != Thresholds{}) {
		t.Fatal("an empty window must not pass thresholds")
	}
}

// TestEncodedHistogramsMerge: the per-phase histograms of several instances, as encoded into their
// summaries, merge into exactly the histogram of all their samples.
func TestEncodedHistogramsMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	all := hdrhistogram.New(LowestMicros, HighestMicros, SignificantDigits)
	var parts []*Window
	for k := 0; k < 3; k++ {
		w := NewWindow()
		for i := 0; i < 5000+k*1000; i++ {
			v := 50 + rng.Int64N(2_000_000)
			if i%97 == 0 {
				v *= 100 // a tail
			}
			w.RecordAt(i, v, v, "200", true, Acknowledged)
			_ = all.RecordValue(min(v, HighestMicros))
		}
		parts = append(parts, w)
	}
	merged := hdrhistogram.New(LowestMicros, HighestMicros, SignificantDigits)
	for _, w := range parts {
		enc, err := w.Snapshot().Histogram.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
		if err != nil {
			t.Fatal(err)
		}
		h, err := hdrhistogram.Decode(enc)
		if err != nil {
			t.Fatal(err)
		}
		if dropped := merged.Merge(h); dropped != 0 {
			t.Fatalf("%d values dropped", dropped)
		}
	}
	if !merged.Equals(all) || merged.TotalCount() != 18000 {
		t.Fatalf("merged histogram (%d values, p99 %d) differs from the union's (%d, p99 %d)",
			merged.TotalCount(), merged.ValueAtQuantile(99), all.TotalCount(), all.ValueAtQuantile(99))
	}
}
