// Package runner executes a phase plan against one target and produces the summary.
//
// Closed model (VUs): each VU sends, waits for the answer, optionally thinks, and repeats; latency is
// measured around the send. Open model (--rate): a dispatcher schedules arrivals at a constant rate
// and a pool of at most --max-vus workers sends them; latency is measured from the scheduled time, so
// a slow server cannot hide its queueing by slowing the generator down (no coordinated omission).
//
// Every phase is a ramp window (excluded from results) then a hold window; a request belongs to the
// window in which it was scheduled or sent.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/perflab/apilab/tools/loadgen/internal/client"
	"github.com/perflab/apilab/tools/loadgen/internal/payload"
	"github.com/perflab/apilab/tools/loadgen/internal/plan"
	"github.com/perflab/apilab/tools/loadgen/internal/stats"
	"github.com/perflab/apilab/tools/loadgen/internal/target"
)

// Config is everything a run needs.
type Config struct {
	Protocol    string
	Target      target.Target
	Phases      []plan.Phase
	Warmup      time.Duration
	ThinkTime   time.Duration
	MaxVUs      int // open model: workers, i.e. the cap on requests in flight
	Connections int
	Token       string // bearer token sent with every request (--auth); never echoed into the summary
	Timeout     time.Duration
	PayloadSize payload.Size
	EntityPool  int
	Seed        uint64
	MaxDuration time.Duration // safety cap on the whole run
	// Segment is this instance's part of a run split over several generators (zero: the whole run).
	Segment plan.Segment
	// StartAt, when set, is the agreed wall-clock start: every phase (warm-up, ramps, holds) then
	// starts at StartAt plus the planned time before it, the same on every instance.
	StartAt     time.Time
	SamplesPath string
	Progress    io.Writer // nil: no progress lines
	Options     any       // echoed into the summary
	Version     string
}

// ErrUnreachable means the target refused a TCP connection before any load was sent.
var ErrUnreachable = errors.New("target unreachable")

// window is one ramp, hold or warm-up.
type window struct {
	label string // the samples file's phase column
	phase plan.Phase
	stats *stats.Window
	start time.Time
	end   time.Time
	done  bool // the hold ran its full course
}

type engine struct {
	cfg     Config
	factory *client.Factory
	reqCtx  context.Context // requests: cancelled only on interruption, or after the final drain

	current   atomic.Pointer[window]
	totals    stats.Counters
	samples   *sampleWriter
	templates *payload.Templates

	limit     atomic.Int64 // closed model: VUs with index < limit keep running
	activeVUs atomic.Int64
	inFlight  atomic.Int64
	completed atomic.Int64
	vuMu      sync.Mutex
	running   map[int]bool
	vuWG      sync.WaitGroup

	tokens    chan token
	workersUp sync.Once
	workerWG  sync.WaitGroup

	// Request body sizes: count, sum, min and max, without a lock (min/max rarely change).
	bytesN, bytesSum, bytesMin, bytesMax atomic.Int64
	streams                              atomic.Uint64
}

type token struct {
	scheduled time.Time
	w         *window
}

// Run executes the plan. The summary is returned even when the run was cut short; err is non-nil only
// when nothing could run (ErrUnreachable, a samples file that cannot be created).
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	started := time.Now()
	sum := newSummary(cfg, started)
	if err := probe(ctx, cfg.Target.Address, min(cfg.Timeout, 3*time.Second)); err != nil {
		if ctx.Err() != nil { // interrupted while probing (e.g. a runner stopping several generators)
			sum.finish("interrupted", time.Now())
			return sum, nil
		}
		sum.finish("unreachable", time.Now())
		return sum, fmt.Errorf("%w: %s: %v", ErrUnreachable, cfg.Target.Address, err)
	}
	factory, err := client.NewFactory(client.Options{Protocol: cfg.Protocol, Target: cfg.Target,
		Timeout: cfg.Timeout, Connections: cfg.Connections, Token: cfg.Token})
	if err != nil {
		return sum, err
	}
	defer factory.Close()
	// Events are built and encoded once, as templates; each request fills in a fresh uuid and an
	// entity id (see payload.Templates).
	templates, err := payload.NewTemplates(cfg.Seed, cfg.PayloadSize, cfg.EntityPool, payload.TemplateCount(cfg.PayloadSize))
	if err != nil {
		return sum, err
	}
	e := &engine{cfg: cfg, factory: factory, templates: templates, running: map[int]bool{},
		tokens: make(chan token, max(cfg.Segment.Share(cfg.MaxVUs), 1))}
	e.bytesMin.Store(math.MaxInt64)
	if cfg.SamplesPath != "" {
		if e.samples, err = newSampleWriter(cfg.SamplesPath); err != nil {
			return sum, err
		}
	}

	runCtx, cancelRun := context.WithTimeout(ctx, cfg.MaxDuration)
	defer cancelRun()
	reqCtx, cancelRequests := context.WithCancel(context.Background())
	defer cancelRequests()
	e.reqCtx = reqCtx
	// Interruption (signal or the safety cap) cuts in-flight requests at once.
	stopCut := context.AfterFunc(runCtx, cancelRequests)
	defer stopCut()

	stopProgress := e.progress(started)
	windows := e.execute(runCtx)

	// Let the requests of the last hold finish, bounded by the request timeout.
	e.limit.Store(0)
	close(e.tokens)
	drained := make(chan struct{})
	go func() { e.vuWG.Wait(); e.workerWG.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(cfg.Timeout + time.Second):
		cancelRequests()
		<-drained
	}
	stopProgress()

	status := "completed"
	switch {
	case ctx.Err() != nil:
		status = "interrupted"
	case runCtx.Err() != nil:
		status = "capped" // --max-duration reached
	}
	sum.addWindows(windows, cfg.Segment)
	sum.addTotals(e)
	if e.samples != nil {
		n, err := e.samples.close()
		sum.Totals.Samples = n
		if err != nil {
			sum.Problems = append(sum.Problems, "samples: "+err.Error())
		}
	}
	sum.finish(status, time.Now())
	return sum, nil
}

func probe(ctx context.Context, address string, timeout time.Duration) error {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return err
	}
	return conn.Close()
}

// execute runs warm-up and phases in order and returns the hold windows (warm-up first, if any).
func (e *engine) execute(ctx context.Context) []*window {
	// The schedule is the whole run's (so every instance ramps and holds at the same moments), then
	// this instance's share of each level.
	phases := e.cfg.Segment.Apply(plan.Schedule(e.cfg.Phases, e.cfg.Warmup))
	var holds []*window
	prevVUs, prevRate := 0, 0.0
	next := e.cfg.StartAt // zero: each window starts when the previous one ends
	// begin waits for a window's planned start (with StartAt) and returns its start.
	begin := func(d time.Duration) (time.Time, bool) {
		if next.IsZero() {
			return time.Now(), ctx.Err() == nil
		}
		at := next
		next = next.Add(d)
		return at, sleepCtx(ctx, time.Until(at))
	}
	for _, p := range phases {
		if ctx.Err() != nil {
			break
		}
		switch {
		case p.Open():
			e.limit.Store(0) // closed VUs of an earlier phase stop after their current request
			e.startWorkers(ctx)
			if p.Ramp > 0 {
				if start, ok := begin(p.Ramp); ok {
					e.dispatch(ctx, e.enter(p.Name+"/ramp", p, false, start), prevRate, p.Rate, p.Ramp, start)
				}
			}
			start, ok := begin(p.Hold)
			if !ok {
				return holds // interrupted during the ramp: this phase has no hold to report
			}
			hold := e.enter(p.Name, p, true, start)
			holds = append(holds, hold)
			hold.done = e.dispatch(ctx, hold, p.Rate, p.Rate, p.Hold, start)
			hold.end = time.Now()
			prevVUs, prevRate = 0, p.Rate
		case p.Iterations > 0:
			e.limit.Store(0)
			waitCtx(ctx, &e.vuWG)
			hold := e.enter(p.Name, p, true, time.Now())
			holds = append(holds, hold)
			e.limit.Store(int64(p.VUs))
			for i := 0; i < p.VUs; i++ {
				e.spawn(ctx, i, p.Iterations)
			}
			hold.done = waitCtx(ctx, &e.vuWG)
			hold.end = time.Now()
			prevVUs, prevRate = 0, 0
		default:
			if p.Ramp > 0 {
				if start, ok := begin(p.Ramp); ok {
					e.enter(p.Name+"/ramp", p, false, start)
					e.rampVUs(ctx, prevVUs, p.VUs, p.Ramp, start)
				}
			}
			start, ok := begin(p.Hold)
			if !ok {
				return holds
			}
			hold := e.enter(p.Name, p, true, start)
			holds = append(holds, hold)
			e.setVUs(ctx, p.VUs)
			hold.done = sleepCtx(ctx, time.Until(start.Add(p.Hold)))
			hold.end = time.Now()
			prevVUs, prevRate = p.VUs, 0
		}
	}
	// Requests still running belong to the last window; nothing new starts after this.
	return holds
}

// enter makes w, starting at start, the current window.
func (e *engine) enter(label string, p plan.Phase, hold bool, start time.Time) *window {
	w := &window{label: label, phase: p, start: start}
	if hold && p.Open() {
		w.stats = stats.NewOpenWindow() // corrected and uncorrected latencies
	} else if hold {
		w.stats = stats.NewWindow()
	}
	e.current.Store(w)
	return w
}

// rampVUs moves the VU count linearly from `from` to `to` over d from start.
func (e *engine) rampVUs(ctx context.Context, from, to int, d time.Duration, start time.Time) {
	steps := max(from, to) - min(from, to)
	for k := 1; k <= steps; k++ {
		at := start.Add(time.Duration(float64(d) * float64(k) / float64(steps)))
		if !sleepCtx(ctx, time.Until(at)) {
			return
		}
		if to > from {
			e.setVUs(ctx, from+k)
		} else {
			e.setVUs(ctx, from-k)
		}
	}
	sleepCtx(ctx, time.Until(start.Add(d)))
}

// setVUs sets the closed-model VU count: extra VUs stop after their current request, missing ones start.
func (e *engine) setVUs(ctx context.Context, n int) {
	e.limit.Store(int64(n))
	for i := 0; i < n; i++ {
		e.spawn(ctx, i, 0)
	}
}

func (e *engine) spawn(ctx context.Context, idx, iterations int) {
	e.vuMu.Lock()
	defer e.vuMu.Unlock()
	if e.running[idx] {
		return
	}
	e.running[idx] = true
	e.vuWG.Add(1)
	go e.vu(ctx, idx, iterations)
}

// vuState is what one VU (or open-model worker) owns: its client, its event stream and its batch of
// raw samples. Nothing in it is shared, so the request path takes no lock but a window shard's.
type vuState struct {
	idx    int
	client client.Client
	stream *payload.Stream
	batch  []sample
}

func (e *engine) newVU(idx int) (*vuState, error) {
	c, err := e.factory.New(idx)
	if err != nil {
		return nil, err
	}
	// Each VU (or worker) gets its own deterministic stream of the seed.
	return &vuState{idx: idx, client: c, stream: e.templates.NewStream(e.cfg.Seed, e.streams.Add(1))}, nil
}

// flush hands the VU's batched samples to the writer.
func (e *engine) flush(v *vuState) {
	if e.samples != nil && len(v.batch) > 0 {
		e.samples.rows <- v.batch
		v.batch = nil
	}
}

// done reports whether ctx ended, without taking its lock.
func done(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

// vu is one closed-model virtual user: send, wait for the answer, think, repeat.
func (e *engine) vu(ctx context.Context, idx, iterations int) {
	e.activeVUs.Add(1)
	deregistered := false
	var v *vuState
	defer func() {
		if v != nil {
			e.flush(v)
			v.client.Close()
		}
		e.activeVUs.Add(-1)
		if !deregistered {
			e.vuMu.Lock()
			delete(e.running, idx)
			e.vuMu.Unlock()
		}
		e.vuWG.Done()
	}()
	// The limit check and the deregistration happen under one lock, so a concurrent setVUs either
	// keeps this VU running or starts a fresh one: never neither. The lock is taken only when the
	// limit (read without it) says this VU should stop.
	stopping := func() bool {
		if int64(idx) < e.limit.Load() {
			return false
		}
		e.vuMu.Lock()
		defer e.vuMu.Unlock()
		if int64(idx) >= e.limit.Load() {
			delete(e.running, idx)
			deregistered = true
			return true
		}
		return false
	}
	var err error
	if v, err = e.newVU(idx); err != nil {
		return
	}
	var think *time.Timer
	for n := 0; iterations == 0 || n < iterations; n++ {
		if done(ctx) || stopping() {
			return
		}
		req := v.client.Prepare(v.stream)
		e.countBytes(req.Bytes)
		w := e.current.Load()
		start := time.Now()
		e.inFlight.Add(1)
		out := v.client.Send(e.reqCtx, req)
		e.inFlight.Add(-1)
		latency := time.Since(start)
		e.record(v, w, start, latency, latency, out)
		if e.cfg.ThinkTime > 0 {
			if think == nil {
				think = time.NewTimer(e.cfg.ThinkTime)
			} else {
				think.Reset(e.cfg.ThinkTime)
			}
			select {
			case <-think.C:
			case <-ctx.Done():
				return
			}
		}
	}
}

// workers is this instance's share of --max-vus (at least one).
func (e *engine) workers() int { return max(1, e.cfg.Segment.Share(e.cfg.MaxVUs)) }

// startWorkers starts the open model's worker pool once.
func (e *engine) startWorkers(ctx context.Context) {
	e.workersUp.Do(func() {
		for i := 0; i < e.workers(); i++ {
			e.workerWG.Add(1)
			go e.worker(ctx, i)
		}
	})
}

// worker sends scheduled arrivals. It prepares the next event before taking a token, so encoding is
// not inside the measured time unless the pool is saturated (and then the wait is the server's fault
// and is measured, as it should be).
func (e *engine) worker(ctx context.Context, idx int) {
	defer e.workerWG.Done()
	v, err := e.newVU(idx)
	if err != nil {
		return
	}
	defer func() { e.flush(v); v.client.Close() }()
	req := v.client.Prepare(v.stream)
	for {
		var tok token
		var ok bool
		select {
		case tok, ok = <-e.tokens:
			if !ok {
				return
			}
		case <-ctx.Done():
			return
		}
		e.countBytes(req.Bytes)
		e.inFlight.Add(1)
		sent := time.Now()
		out := v.client.Send(e.reqCtx, req)
		e.inFlight.Add(-1)
		end := time.Now()
		// Corrected: from the scheduled time (includes any wait for a free worker); uncorrected:
		// from the actual send.
		e.record(v, tok.w, tok.scheduled, end.Sub(tok.scheduled), end.Sub(sent), out)
		req = v.client.Prepare(v.stream)
	}
}

// dispatch schedules arrivals for d from start, at a rate moving linearly from r0 to r1 requests/s
// (the whole run's), and hands this segment's arrivals to the workers. It reports whether it ran its
// full course.
func (e *engine) dispatch(ctx context.Context, w *window, r0, r1 float64, d time.Duration, start time.Time) bool {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := 0; ; i++ {
		off := ArrivalOffset(i, r0, r1, d)
		if off >= d {
			break
		}
		if !e.cfg.Segment.Owns(i) {
			continue // another instance's arrival
		}
		at := start.Add(off)
		if wait := time.Until(at); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return false
			}
		} else if done(ctx) {
			return false
		}
		select {
		case e.tokens <- token{scheduled: at, w: w}:
		case <-ctx.Done():
			return false
		}
	}
	return sleepCtx(ctx, time.Until(start.Add(d)))
}

// ArrivalOffset is when arrival i (0-based) is due, for a rate moving linearly from r0 to r1 over d:
// the solution of r0·t + (r1−r0)·t²/(2d) = i. It returns d or more when arrival i falls outside.
func ArrivalOffset(i int, r0, r1 float64, d time.Duration) time.Duration {
	T := d.Seconds()
	if r0 <= 0 && r1 <= 0 {
		return d
	}
	var t float64
	if a := (r1 - r0) / (2 * T); math.Abs(a) < 1e-12 {
		t = float64(i) / r0
	} else {
		disc := r0*r0 + 4*a*float64(i)
		if disc < 0 {
			return d
		}
		t = (-r0 + math.Sqrt(disc)) / (2 * a)
	}
	if t < 0 || t >= T {
		return d
	}
	return time.Duration(t * float64(time.Second))
}

// record counts one request: latency is the window's reported latency, uncorrected the one from
// the actual send (the same in the closed model).
func (e *engine) record(v *vuState, w *window, start time.Time, latency, uncorrected time.Duration, out client.Outcome) {
	micros := latency.Microseconds()
	e.completed.Add(1)
	e.totals.Add(out.Code, out.OK, out.Class)
	// A request we cut short on interruption says nothing about the server: keep it out of the
	// phase's figures (it still counts as ambiguous in the totals and appears in the samples).
	if w.stats != nil && out.Code != "canceled" {
		w.stats.RecordAt(v.idx, micros, uncorrected.Microseconds(), out.Code, out.OK, out.Class)
	}
	if e.samples != nil {
		if v.batch == nil {
			v.batch = make([]sample, 0, sampleBatch)
		}
		v.batch = append(v.batch, sample{startUnixNano: start.UnixNano(), latencyMicros: micros, phase: w.label, code: out.Code, ok: out.OK})
		if len(v.batch) == cap(v.batch) {
			e.flush(v)
		}
	}
}

func (e *engine) countBytes(n int) {
	b := int64(n)
	e.bytesN.Add(1)
	e.bytesSum.Add(b)
	for m := e.bytesMin.Load(); b < m && !e.bytesMin.CompareAndSwap(m, b); m = e.bytesMin.Load() {
	}
	for m := e.bytesMax.Load(); b > m && !e.bytesMax.CompareAndSwap(m, b); m = e.bytesMax.Load() {
	}
}

// sleepCtx sleeps d; false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// waitCtx waits for wg; false when ctx ended first.
func waitCtx(ctx context.Context, wg *sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}
