package main

import "strings"

// sysmonSetting keeps the Go runtime's monitor thread (sysmon) from parking.
//
// A closed-model generator goes idle between answers thousands of times a second: every VU waits on
// the network. Whenever all Ps are idle, sysmon parks on a futex, and the next goroutine to run wakes
// it again; measured against go-rest on the lab's 2-core host (perf stat, 10 VUs, ~3.4k req/s), that
// was 1.4 futex calls, 0.65 nanosleeps and 1.5 extra context switches per request, and loadgen spent
// 1.5x wrk's CPU per request, two thirds of it in the kernel. With sysmon kept polling (its own
// back-off, at most 100 wake-ups a second when nothing happens) the same run cost 0.9x wrk's
// (scripts/bench-generator; README, "The generator's own cost").
//
// GODEBUG's schedtrace is the runtime's only switch for this: with any period above zero sysmon never
// parks. The period is the largest the runtime takes (2^31-1 ms, 24.8 days), so the trace line it
// exists for is not printed — except once at start on a host whose monotonic clock (uptime) is past
// that period, because the runtime counts the first period from zero.
const sysmonSetting = "schedtrace=2147483647"

// sysmonEnvironment returns the environment to execute loadgen again with, and whether that is
// needed: not when GODEBUG already sets schedtrace (also the way to opt out: GODEBUG=schedtrace=0).
func sysmonEnvironment(environ []string) ([]string, bool) {
	godebug, at := "", -1
	for i, kv := range environ {
		if value, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
			godebug, at = value, i
		}
	}
	for _, setting := range strings.Split(godebug, ",") {
		if strings.HasPrefix(strings.TrimSpace(setting), "schedtrace=") {
			return environ, false
		}
	}
	value := sysmonSetting
	if strings.TrimSpace(godebug) != "" {
		value = godebug + "," + sysmonSetting
	}
	env := append([]string{}, environ...)
	if at >= 0 {
		env[at] = "GODEBUG=" + value
	} else {
		env = append(env, "GODEBUG="+value)
	}
	return env, true
}
