package plan

import (
	"fmt"
	"strconv"
	"strings"
)

// Segment is this instance's part of a run split over several generators (--segment K/N), like k6's
// execution segments: instance K of N runs floor(K·V/N) − floor((K−1)·V/N) of a phase's V VUs, and
// of an open phase's arrivals (numbered 0, 1, 2, … on the common schedule) those with
// number mod N = K−1. Shares of every instance add up to the whole exactly, without overlap.
// The zero value (and 1/1) is the whole run.
type Segment struct {
	K, N int
}

// Whole reports whether the segment is the whole run.
func (s Segment) Whole() bool { return s.N <= 1 }

// String is "K/N" ("1/1" for the whole run).
func (s Segment) String() string {
	if s.Whole() {
		return "1/1"
	}
	return fmt.Sprintf("%d/%d", s.K, s.N)
}

// ParseSegment reads "K/N" with 1 <= K <= N.
func ParseSegment(raw string) (Segment, error) {
	k, n, ok := strings.Cut(raw, "/")
	ki, err1 := strconv.Atoi(strings.TrimSpace(k))
	ni, err2 := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err1 != nil || err2 != nil || ni < 1 || ki < 1 || ki > ni || ni > 1_000_000 {
		return Segment{}, fmt.Errorf("--segment %q: want K/N with 1 <= K <= N, e.g. 2/3", raw)
	}
	return Segment{K: ki, N: ni}, nil
}

// Share is this segment's part of total (VUs, workers): the parts of K = 1..N add up to total.
func (s Segment) Share(total int) int {
	if s.Whole() {
		return total
	}
	return floorDiv(s.K*total, s.N) - floorDiv((s.K-1)*total, s.N)
}

// Owns reports whether arrival number i (0-based, on the common schedule) is this segment's.
func (s Segment) Owns(i int) bool { return s.Whole() || i%s.N == s.K-1 }

// RateShare is the part of an arrival rate this segment sends on average (rate / N).
func (s Segment) RateShare(rate float64) float64 {
	if s.Whole() {
		return rate
	}
	return rate / float64(s.N)
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Apply returns the phases with their VU counts replaced by this segment's share (rates stay the
// whole run's: the dispatcher keeps only the arrivals the segment owns).
func (s Segment) Apply(phases []Phase) []Phase {
	out := append([]Phase(nil), phases...)
	for i := range out {
		if !out[i].Open() {
			out[i].VUs = s.Share(out[i].VUs)
		}
	}
	return out
}
