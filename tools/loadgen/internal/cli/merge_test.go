package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMergeCommand: two instances of one split run (the real `run` command), then `merge`: one
// summary of the same format with exactly the plan's arrivals; inputs that do not fit are refused.
func TestMergeCommand(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"success":true,"message":"event processed"}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	at := time.Now().Add(700 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for k := 1; k <= 2; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			codes[k-1], _, _ = runCLI(t, "run", "--protocol", "rest", "--target", srv.URL, "--phases", "80/s:500ms",
				"--warmup", "0", "--ramp", "0", "--segment", fmt.Sprintf("%d/2", k), "--start-at", at,
				"--summary", filepath.Join(dir, fmt.Sprintf("s%d.json", k)))
		}(k)
	}
	wg.Wait()
	if codes[0] != 0 || codes[1] != 0 {
		t.Fatalf("run exits %v", codes)
	}
	s1, s2, out := filepath.Join(dir, "s1.json"), filepath.Join(dir, "s2.json"), filepath.Join(dir, "merged.json")
	code, stdout, stderr := runCLI(t, "merge", "--summary", out, s2, s1)
	if code != ExitCompleted || !strings.Contains(stdout, "merged 2 generators") {
		t.Fatalf("merge exit %d: %s %s", code, stdout, stderr)
	}
	var merged struct {
		Segment string `json:"segment"`
		Phases  []struct {
			Name      string  `json:"name"`
			Requests  int64   `json:"requests"`
			Rate      float64 `json:"rate"`
			Histogram string  `json:"histogram"`
		} `json:"phases"`
		Generators []struct {
			Segment string `json:"segment"`
		} `json:"generators"`
	}
	data, _ := os.ReadFile(out)
	if err := json.Unmarshal(data, &merged); err != nil {
		t.Fatal(err)
	}
	if merged.Segment != "1/1" || len(merged.Phases) != 1 || merged.Phases[0].Requests != 40 || merged.Phases[0].Rate != 80 ||
		merged.Phases[0].Histogram == "" || len(merged.Generators) != 2 || merged.Generators[1].Segment != "2/2" {
		t.Fatalf("merged summary %s", data)
	}
	// Refused: a part missing, a part twice, a merged summary again (exit 1, with the reason).
	for _, args := range [][]string{{s1}, {s1, s1}, {out, s1}} {
		code, _, stderr := runCLI(t, append([]string{"merge", "--summary", filepath.Join(dir, "x.json")}, args...)...)
		if code != ExitUnreachable || !strings.HasPrefix(stderr, "loadgen merge: ") {
			t.Fatalf("%v: exit %d %q", args, code, stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "x.json")); err == nil {
			t.Fatalf("%v: a refused merge wrote its output", args)
		}
	}
	if code, _, _ := runCLI(t, "merge", s1, s2); code != ExitUsage {
		t.Fatalf("merge without --summary: exit %d", code)
	}
	if code, _, _ := runCLI(t, "merge", "--summary", out); code != ExitUsage {
		t.Fatalf("merge without inputs: exit %d", code)
	}
}
