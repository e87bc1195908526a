package stats

import (
	"math"
	"sync"
	"testing"
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
