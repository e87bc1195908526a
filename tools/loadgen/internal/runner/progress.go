package runner

import (
	"encoding/json"
	"time"

	"github.com/perflab/apilab/tools/loadgen/internal/plan"
)

// progressLine is printed once a second on stderr with --progress.
type progressLine struct {
	Phase            string  `json:"phase"`
	VUs              int64   `json:"vus"`
	InFlight         int64   `json:"inFlight"`
	RPS              int64   `json:"rps"`
	Errors           int64   `json:"errors"`
	P95Ms            float64 `json:"p95Ms"`
	ElapsedSeconds   float64 `json:"elapsedSeconds"`
	RemainingSeconds float64 `json:"remainingSeconds"`
}

// progress starts the once-a-second reporter; the returned func stops it.
func (e *engine) progress(started time.Time) func() {
	if e.cfg.Progress == nil {
		return func() {}
	}
	planned := plan.Duration(plan.Schedule(e.cfg.Phases, e.cfg.Warmup))
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		enc := json.NewEncoder(e.cfg.Progress)
		last := int64(0)
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			line := progressLine{VUs: e.activeVUs.Load(), InFlight: e.inFlight.Load()}
			n := e.completed.Load()
			line.RPS, last = n-last, n
			if w := e.current.Load(); w != nil {
				line.Phase = w.label
				if w.stats != nil {
					snap := w.stats.Snapshot()
					line.P95Ms, line.Errors = snap.Latency.P95, snap.Failures
				}
			}
			elapsed := time.Since(started)
			line.ElapsedSeconds = round(elapsed.Seconds(), 1)
			line.RemainingSeconds = round(max(planned-elapsed, 0).Seconds(), 1)
			_ = enc.Encode(line)
		}
	}()
	return func() { close(stop); <-done }
}
