package main

import (
	"slices"
	"testing"
)

func TestSysmonEnvironment(t *testing.T) {
	cases := []struct {
		name    string
		environ []string
		want    []string
		again   bool
	}{
		{"no GODEBUG", []string{"PATH=/bin"}, []string{"PATH=/bin", "GODEBUG=" + sysmonSetting}, true},
		{"other settings kept", []string{"GODEBUG=gctrace=1", "HOME=/"},
			[]string{"GODEBUG=gctrace=1," + sysmonSetting, "HOME=/"}, true},
		{"empty GODEBUG", []string{"GODEBUG="}, []string{"GODEBUG=" + sysmonSetting}, true},
		{"already set: the re-executed process", []string{"GODEBUG=" + sysmonSetting}, nil, false},
		{"opted out", []string{"GODEBUG=madvdontneed=1, schedtrace=0"}, nil, false},
	}
	for _, c := range cases {
		env, again := sysmonEnvironment(c.environ)
		if again != c.again || (again && !slices.Equal(env, c.want)) {
			t.Errorf("%s: got %v %v, want %v %v", c.name, env, again, c.want, c.again)
		}
		if !again && !slices.Equal(env, c.environ) {
			t.Errorf("%s: environment changed without a re-exec: %v", c.name, env)
		}
	}
}
