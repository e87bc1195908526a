package cli

// `loadgen sample`: events exactly as `run` sends them over REST — built from the same templates, with
// a fresh uuid and an entity id from the pool written into their slots — one JSON body per line. Tools
// that must reproduce the generator's payloads without restating them read these lines: the runner's
// database reference (runner/reference.py: pgbench running the contract's statements) takes its
// payload bytes, entity count and entity-id scheme from here.
//
//	loadgen sample --payload-size 4k --count 64 [--entity-pool 10000] [--seed 1]

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/perflab/apilab/tools/loadgen/internal/payload"
)

func sample(args []string, stdout, stderr io.Writer) int {
	// Defaults are run's (its flag set is their one home), except the seed: a fixed one, so the same
	// command prints the same events.
	var ro Options
	var rf runFlags
	runDefaults := newRunFlags(&ro, &rf)
	fs := flag.NewFlagSet("loadgen sample", flag.ContinueOnError)
	fs.SetOutput(stderr)
	size := fs.String("payload-size", runDefaults.Lookup("payload-size").DefValue, runDefaults.Lookup("payload-size").Usage)
	pool := fs.Int("entity-pool", payload.DefaultEntityPool, runDefaults.Lookup("entity-pool").Usage)
	count := fs.Int("count", 16, "how many events to print, one REST JSON body per line")
	seed := fs.Uint64("seed", 1, "payload seed (as run's --seed); the same seed prints the same events")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitCompleted
		}
		return ExitUsage
	}
	if fs.NArg() > 0 || *count < 1 || *seed == 0 {
		fmt.Fprintln(stderr, "loadgen sample: takes --payload-size, --entity-pool, --count >= 1 and --seed >= 1 only")
		return ExitUsage
	}
	sz := payload.Size(*size)
	templates, err := payload.NewTemplates(*seed, sz, *pool, payload.TemplateCount(sz))
	if err != nil {
		fmt.Fprintln(stderr, "loadgen sample:", err)
		return ExitUsage
	}
	stream := templates.NewStream(*seed, 1)
	w := bufio.NewWriter(stdout)
	for range *count {
		w.Write(stream.Next(payload.JSONBody))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(stderr, "loadgen sample:", err)
		return ExitUnreachable
	}
	return ExitCompleted
}
