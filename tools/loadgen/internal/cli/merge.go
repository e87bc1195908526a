package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/perflab/apilab/tools/loadgen/internal/merge"
)

// mergeCmd is `loadgen merge --summary OUT.json IN.json...`: one summary from the summaries of the
// instances of a split run (--segment K/N), in the same format (see package merge).
func mergeCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("summary", "", "write the merged summary JSON here (required)")
	quiet := fs.Bool("quiet", false, "print nothing on success")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: loadgen merge --summary OUT.json IN1.json IN2.json ...\n\n"+
			"Merges the summaries of the N instances of one run split with --segment K/N --start-at T into one\n"+
			"summary: counts summed, percentiles from the merged histograms, windows aligned.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitCompleted
		}
		return ExitUsage
	}
	if *out == "" || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "loadgen merge: --summary OUT.json and at least one input summary are required")
		fs.Usage()
		return ExitUsage
	}
	inputs := make([]merge.Input, 0, fs.NArg())
	for _, path := range fs.Args() {
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "loadgen merge: %v\n", err)
			return ExitUnreachable
		}
		var s merge.Summary
		dec := json.NewDecoder(bytes.NewReader(data))
		if err := dec.Decode(&s); err != nil {
			fmt.Fprintf(stderr, "loadgen merge: %s: not a summary JSON: %v\n", path, err)
			return ExitUnreachable
		}
		inputs = append(inputs, merge.Input{Source: path, Summary: &s})
	}
	merged, err := merge.Merge(inputs)
	if err != nil {
		fmt.Fprintf(stderr, "loadgen merge: %v\n", err)
		return ExitUnreachable
	}
	if err := writeJSON(*out, merged); err != nil {
		fmt.Fprintf(stderr, "loadgen merge: --summary: %v\n", err)
		return ExitUnreachable
	}
	if !*quiet {
		fmt.Fprintf(stdout, "merged %d generators (%s)\n", len(merged.Generators), *out)
		report(stdout, &merged.Summary)
	}
	return ExitCompleted
}
