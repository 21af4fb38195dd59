package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/frpt/frpt/report"
	"io"
	"os"
	"sync"

	"github.com/frpt/frpt/tensor"
)

// GridConfig is a post-training grid: every tap × c_rec × seed, each run from the same
// pretrained weights and the same feature cache.
type GridConfig struct {
	Base    PostTrainConfig
	Cache   string
	Taps    []string
	CRecs   []float64
	Seeds   []uint64
	Workers int    // concurrent runs (each single-threaded); default 2
	Results string // JSON-lines file the finished runs are appended to
}

// ReadResults reads a results file; a missing file is an empty grid. A torn last line
// (the process was killed while appending) is ignored and rewritten by the next append.
func ReadResults(path string) ([]RunResult, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []RunResult
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	line := 0
	for sc.Scan() {
		line++
		var r RunResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			if !hasMoreLines(sc) {
				break // torn final line
			}
			return nil, fmt.Errorf("read %s line %d: %w", path, line, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

func hasMoreLines(sc *bufio.Scanner) bool { return sc.Scan() }

// appendResult appends one run as a JSON line and syncs, rewriting the file without a
// torn tail first if needed (so a kill mid-append never corrupts earlier runs).
func appendResult(path string, done []RunResult, r RunResult) error {
	var buf []byte
	for _, d := range append(done, r) {
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		buf = append(append(buf, b...), '\n')
	}
	return WriteFileAtomic(path, buf)
}

// RunGrid runs every missing (tap, c_rec, seed) of the grid, skipping runs already in the
// results file, with cfg.Workers concurrent runs. Killing it and running it again gives
// the same final results file (each run depends only on its configuration).
func RunGrid(ctx context.Context, cfg GridConfig, w io.Writer) ([]RunResult, error) {
	cache, err := OpenCache(cfg.Cache)
	if err != nil {
		return nil, err
	}
	done, err := ReadResults(cfg.Results)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, r := range done {
		have[r.Key()] = true
	}
	var todo []PostTrainConfig
	for _, tap := range cfg.Taps {
		for _, c := range cfg.CRecs {
			for _, s := range cfg.Seeds {
				run := cfg.Base
				run.Tap, run.CRec, run.Seed = tap, c, s
				if !have[run.Key()] {
					todo = append(todo, run)
				}
			}
		}
	}
	if len(todo) == 0 {
		return done, nil
	}
	test, err := openSplit(cfg.Base.Dataset, "test", cfg.Base.DataDir, 0)
	if err != nil {
		return nil, err
	}
	set, err := cache.Load(gridTaps(cache, cfg.Taps)...)
	if err != nil {
		return nil, err
	}
	workers := max(cfg.Workers, 1)
	if workers > 1 {
		old := tensor.Workers
		tensor.Workers = 1 // runs are the parallel unit
		defer func() { tensor.Workers = old }()
	}
	fmt.Fprintf(w, "post-training grid: %d runs to do (%d already in %s), %d workers\n", len(todo), len(done), cfg.Results, workers)
	total := len(done) + len(todo)
	jobs := make(chan PostTrainConfig)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for run := range jobs {
				r, err := PostTrain(ctx, run, set, test, nil)
				mu.Lock()
				if err == nil {
					err = appendResult(cfg.Results, done, *r)
					if err == nil {
						done = append(done, *r)
						fmt.Fprintf(w, "[%d/%d] %s: best %.2f%% mean %.2f%%\n", len(done), total, run.Key(), 100*r.Best, 100*r.Mean)
					}
				}
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, run := range todo {
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		jobs <- run
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return done, firstErr
	}
	return done, ctx.Err()
}

// ReportRun converts a finished run for package report.
func ReportRun(r RunResult) report.Run {
	return report.Run{
		Model: r.Model, Dataset: r.Dataset, Weights: r.Weights, Tap: r.Tap, CRec: r.CRec, Seed: r.Seed,
		Epochs: r.Epochs, Batch: r.Batch, LR: r.LR, WD: r.WD, Mode: r.Mode,
		TestAcc: r.TestAcc, Best: r.Best, Mean: r.Mean,
	}
}
