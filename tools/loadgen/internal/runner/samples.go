package runner

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"os"
	"strconv"
)

// sample is one row of the raw samples file.
type sample struct {
	startUnixNano int64
	latencyMicros int64
	phase         string
	code          string
	ok            bool
}

// sampleBatch is how many samples a VU collects before handing them to the writer.
const sampleBatch = 256

// sampleWriter writes gzip CSV `start_unix_ns,latency_us,phase,code,ok` from one goroutine; VUs hand
// it batches of rows, so they pay one channel send per sampleBatch requests. Rows are not in time
// order across VUs (readers group them by phase).
type sampleWriter struct {
	rows chan []sample
	done chan error
	n    int64
}

func newSampleWriter(path string) (*sampleWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--samples: %w", err)
	}
	w := &sampleWriter{rows: make(chan []sample, 1024), done: make(chan error, 1)}
	go func() {
		gz := gzip.NewWriter(f)
		bw := bufio.NewWriterSize(gz, 1<<16)
		_, _ = bw.WriteString("start_unix_ns,latency_us,phase,code,ok\n")
		var line []byte
		for batch := range w.rows {
			for _, s := range batch {
				line = strconv.AppendInt(line[:0], s.startUnixNano, 10)
				line = append(line, ',')
				line = strconv.AppendInt(line, s.latencyMicros, 10)
				line = append(line, ',')
				line = append(line, s.phase...)
				line = append(line, ',')
				line = append(line, s.code...)
				if s.ok {
					line = append(line, ",1\n"...)
				} else {
					line = append(line, ",0\n"...)
				}
				_, _ = bw.Write(line)
				w.n++
			}
		}
		err := bw.Flush()
		if cerr := gz.Close(); err == nil {
			err = cerr
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		w.done <- err
	}()
	return w, nil
}

// close flushes every row sent so far and reports the count.
func (w *sampleWriter) close() (int64, error) {
	close(w.rows)
	err := <-w.done
	return w.n, err
}
