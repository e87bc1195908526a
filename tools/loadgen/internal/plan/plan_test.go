package plan

import (
	"testing"
	"time"
)

func TestModes(t *testing.T) {
	full, err := Build(Options{Mode: "full", Scale: 1, Ramp: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	wantVUs := []int{10, 50, 100, 200}
	wantHold := []time.Duration{2 * time.Minute, 2 * time.Minute, 2 * time.Minute, 5 * time.Minute}
	if len(full) != 4 {
		t.Fatalf("full has %d phases", len(full))
	}
	for i, p := range full {
		if p.VUs != wantVUs[i] || p.Hold != wantHold[i] || p.Ramp != 5*time.Second || p.Open() {
			t.Fatalf("full phase %d = %+v", i, p)
		}
	}
	if full[0].Name != "10vus" || full[3].Name != "200vus" {
		t.Fatalf("names %q %q", full[0].Name, full[3].Name)
	}
	sat, _ := Build(Options{Mode: "saturation", Scale: 1})
	if len(sat) != 7 || sat[6].VUs != 2000 || sat[6].Hold != 2*time.Minute || Duration(sat) != 14*time.Minute {
		t.Fatalf("saturation = %+v", sat)
	}
	smoke, _ := Build(Options{Mode: "smoke", Scale: 1, Ramp: 5 * time.Second})
	if len(smoke) != 1 || smoke[0] != (Phase{Name: "smoke", VUs: 1, Iterations: 5}) {
		t.Fatalf("smoke = %+v", smoke)
	}
}

func TestScaleMultipliesHoldsAndRamps(t *testing.T) {
	ps, err := Build(Options{Mode: "full", Scale: 0.05, Ramp: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].Hold != 6*time.Second || ps[3].Hold != 15*time.Second || ps[0].Ramp != 250*time.Millisecond {
		t.Fatalf("scaled = %+v", ps)
	}
}

func TestExplicitPhasesAndRate(t *testing.T) {
	ps, err := Build(Options{Phases: "10:2m, 50:90,10:1m, 200/s:30s", Scale: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if ps[1].VUs != 50 || ps[1].Hold != 45*time.Second || ps[2].Name != "10vus#2" || !ps[3].Open() || ps[3].Rate != 200 || ps[3].Name != "200rps" {
		t.Fatalf("phases = %+v", ps)
	}
	open, _ := Build(Options{Mode: "full", Scale: 1, Rate: 150})
	for _, p := range open {
		if !p.Open() || p.Rate != 150 || p.VUs != 0 {
			t.Fatalf("--rate phase = %+v", p)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, o := range []Options{
		{Scale: 1},
		{Mode: "full", Phases: "10:1m", Scale: 1},
		{Mode: "soak", Scale: 1},
		{Phases: "10", Scale: 1},
		{Phases: "0:1m", Scale: 1},
		{Phases: "10:zz", Scale: 1},
		{Mode: "full", Scale: 0},
		{Mode: "smoke", Scale: 1, Rate: 10},
	} {
		if _, err := Build(o); err == nil {
			t.Errorf("Build(%+v) accepted", o)
		}
	}
}

func TestScheduleDropsRampsWithoutALevelChange(t *testing.T) {
	ps, _ := Build(Options{Phases: "10:1m,10:1m,20:1m,30/s:1m,30/s:1m,5:1m", Scale: 1, Ramp: 5 * time.Second})
	got := Schedule(ps, 3*time.Second)
	if got[0].Name != WarmupName || got[0].VUs != 10 || got[0].Hold != 3*time.Second || got[0].Ramp != 0 {
		t.Fatalf("warm-up %+v", got[0])
	}
	wantRamps := []time.Duration{0, 0, 0, 5 * time.Second, 5 * time.Second, 0, 5 * time.Second}
	for i, p := range got {
		if p.Ramp != wantRamps[i] {
			t.Fatalf("phase %d (%s): ramp %v, want %v", i, p.Name, p.Ramp, wantRamps[i])
		}
	}
	if Duration(got) != 3*time.Second+6*time.Minute+15*time.Second {
		t.Fatalf("planned %v", Duration(got))
	}
	// Without a warm-up the first phase ramps from 0.
	if s := Schedule(ps, 0); len(s) != len(ps) || s[0].Ramp != 5*time.Second {
		t.Fatalf("no warm-up: %+v", s[0])
	}
	for _, m := range Modes {
		if d := DefaultWarmupFor(m.Name); (m.Name == "smoke") != (d == 0) {
			t.Fatalf("mode %s: default warm-up %v", m.Name, d)
		}
	}
}
