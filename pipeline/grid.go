package pipeline

import (
	"context"
	"fmt"
	"github.com/frpt/frpt/report"
	"io"
	"path/filepath"
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
	// TestLimit evaluates on the first TestLimit test images only (0: the whole test
	// split), for grids of slow models; every run of a results file must use the same.
	TestLimit int
}

// ReadResults reads a results file; a missing file is an empty grid. A torn last line
// (the process was killed while appending) is ignored and rewritten by the next append.
// Weights paths are returned as recorded (relative to the file; report.Resolve makes
// them usable; files written before hold absolute paths).
func ReadResults(path string) ([]RunResult, error) { return readJSONLines[RunResult](path) }

// RunGrid runs every missing (tap, c_rec, seed) of the grid, skipping runs already in the
// results file, with cfg.Workers concurrent runs. Killing it and running it again gives
// the same final results file (each run depends only on its configuration).
func RunGrid(ctx context.Context, cfg GridConfig, w io.Writer) ([]RunResult, error) {
	if cfg.Workers == 0 {
		cfg.Workers = 2
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cache, err := OpenCache(cfg.Cache)
	if err != nil {
		return nil, err
	}
	if err := checkTaps(cache, cfg.Taps); err != nil {
		return nil, err
	}
	sha, err := FileSHA256(cfg.Base.Weights)
	if err != nil {
		return nil, fmt.Errorf("--weights: %w", err)
	}
	if err := cache.fits(cfg.Base.Model, cfg.Base.Dataset, cfg.Base.Weights, sha); err != nil {
		return nil, err
	}
	done, err := ReadResults(cfg.Results)
	if err != nil {
		return nil, err
	}
	if err := resultsFit(cfg.Results, done, cfg, sha); err != nil {
		return nil, err
	}
	removeStale(filepath.Dir(cfg.Results))
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
	test, err := openSplit(cfg.Base.Dataset, "test", cfg.Base.DataDir, cfg.TestLimit)
	if err != nil {
		return nil, err
	}
	set, err := cache.Load(gridTaps(cache, cfg.Taps)...)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "post-training grid: %d runs to do (%d already in %s), %d workers, %d training samples, %d test images\n",
		len(todo), len(done), cfg.Results, max(cfg.Workers, 1), set.N, test.Len())
	return runPool(ctx, cfg.Workers, cfg.Results, todo, done,
		func(run PostTrainConfig) (*RunResult, error) {
			r, err := PostTrain(ctx, run, set, test, nil)
			if err == nil { // the record names the weights relative to the results file, with their hash
				r.Weights, r.WeightsSHA256, r.TestLimit = report.RecordedPath(cfg.Results, run.Weights), sha, cfg.TestLimit
			}
			return r, err
		},
		func(run PostTrainConfig, r *RunResult) string {
			return fmt.Sprintf("%s: best %.2f%% mean %.2f%%", run.Key(), 100*r.Best, 100*r.Mean)
		}, w)
}

// ReportRun converts a finished run for package report.
func ReportRun(r RunResult) report.Run {
	return report.Run{
		Model: r.Model, Dataset: r.Dataset, Weights: r.Weights, Tap: r.Tap, CRec: r.CRec, Seed: r.Seed,
		Epochs: r.Epochs, Batch: r.Batch, LR: r.LR, WD: r.WD, Mode: r.Mode,
		TestAcc: r.TestAcc, Best: r.Best, Mean: r.Mean, WeightsSHA256: r.WeightsSHA256,
	}
}
