package cli

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/perflab/apilab/tools/loadgen/internal/payload"
)

// TestSamplePrintsRunsEvents: `sample` prints events as `run` sends them: sizes within the tolerance,
// ids from the pool, the same lines for the same seed, a fresh uuid each.
func TestSamplePrintsRunsEvents(t *testing.T) {
	for _, size := range payload.SizeNames {
		code, out, stderr := runCLI(t, "sample", "--payload-size", string(size), "--count", "40", "--entity-pool", "500")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", size, code, stderr)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 40 {
			t.Fatalf("%s: %d lines", size, len(lines))
		}
		uuids := map[string]bool{}
		id := regexp.MustCompile(`^(car|loan|payment|service)-\d{6}$`)
		for _, line := range lines {
			target := float64(payload.Sizes[size])
			if d := float64(len(line)) - target; d > target*payload.SizeTolerance || -d > target*payload.SizeTolerance {
				t.Fatalf("%s: %d bytes", size, len(line))
			}
			var ev struct {
				EventHeader struct{ UUID string }
				EventBody   struct {
					Entities []struct{ EntityType, EntityID string }
				}
			}
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatal(err)
			}
			uuids[ev.EventHeader.UUID] = true
			for _, e := range ev.EventBody.Entities {
				if !id.MatchString(e.EntityID) || e.EntityID[len(e.EntityID)-6:] >= "000500" {
					t.Fatalf("%s: entity id %q", size, e.EntityID)
				}
			}
		}
		if len(uuids) != 40 {
			t.Fatalf("%s: %d distinct uuids of 40", size, len(uuids))
		}
		if _, again, _ := runCLI(t, "sample", "--payload-size", string(size), "--count", "40", "--entity-pool", "500"); again != out {
			t.Fatalf("%s: same seed, different events", size)
		}
	}
	for _, args := range [][]string{{"sample", "--count", "0"}, {"sample", "--payload-size", "3k"}, {"sample", "extra"}} {
		if code, _, _ := runCLI(t, args...); code != ExitUsage {
			t.Fatalf("%v: exit %d", args, code)
		}
	}
}
