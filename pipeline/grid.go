package pipeline

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/frpt/frpt/report"
	"github.com/frpt/frpt/task"
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
	// Task is this process's share of a grid split over several: the runs of the full
	// run list (tap × c_rec × seed, in that order) whose position i has i mod N = I,
	// appended to the task's own file beside Results (task.File).
	Task task.Task
	// Save is the folder each run's post-trained weights are written to (--save; "" saves
	// none): the best epoch's by test accuracy, or the last epoch's with SaveLast
	// (--save-last). See posttrain_save.go.
	Save     string
	SaveLast bool
}

// runList is the grid's full run list in its fixed order: taps, then c_rec, then seeds.
func (g GridConfig) runList() []PostTrainConfig {
	var out []PostTrainConfig
	for _, tap := range g.Taps {
		for _, c := range g.CRecs {
			for _, s := range g.Seeds {
				run := g.Base
				run.Tap, run.CRec, run.Seed, run.Keep = tap, c, s, g.keepMode()
				out = append(out, run)
			}
		}
	}
	return out
}

// TaskRuns is the share of the run list of task t.
func (g GridConfig) TaskRuns() []PostTrainConfig {
	var out []PostTrainConfig
	for i, run := range g.runList() {
		if g.Task.Owns(i) {
			out = append(out, run)
		}
	}
	return out
}

// ReadResults reads a results file; a missing file is an empty grid. A torn last line
// (the process was killed while appending) is ignored and rewritten by the next append.
// Weights paths are returned as recorded (relative to the file; report.Resolve makes
// them usable; files written before hold absolute paths).
func ReadResults(path string) ([]RunResult, error) { return readJSONLines[RunResult](path) }

// RunGrid runs every missing (tap, c_rec, seed) of the grid (of its task's share, when
// cfg.Task splits it), skipping runs already in the results file (the task's file), with
// cfg.Workers concurrent runs. Killing it and running it again gives the same final
// results file (each run depends only on its configuration). Runs that another file of
// the same results (the one-process file or a task file of another task count) already
// holds are skipped too, so that a grid resplit over a different N does not run twice.
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
	own := cfg.Task.File(cfg.Results)
	done, err := ReadResults(own)
	if err != nil {
		return nil, err
	}
	if err := resultsFit(own, done, cfg, sha); err != nil {
		return nil, err
	}
	removeStale(filepath.Dir(cfg.Results))
	have, err := runsElsewhere(cfg, own, sha)
	if err != nil {
		return nil, err
	}
	for _, r := range done {
		have[r.Key()] = true
	}
	var todo []PostTrainConfig
	for _, run := range cfg.TaskRuns() {
		if !have[run.Key()] {
			todo = append(todo, run)
		}
	}
	if cfg.Task.Split() {
		fmt.Fprintf(w, "%s: runs i ≡ %d mod %d of the %d-run grid (%d runs) into %s\n",
			cfg.Task.Describe(), cfg.Task.Index, cfg.Task.Count, len(cfg.runList()), len(cfg.TaskRuns()), own)
	}
	if cfg.Save != "" {
		noteUnsaved(w, cfg, done)
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
		len(todo), len(done), own, max(cfg.Workers, 1), set.N, test.Len())
	return runPool(ctx, cfg.Workers, own, todo, done,
		func(run PostTrainConfig) (*RunResult, error) {
			r, err := PostTrain(ctx, run, set, test, nil)
			if err == nil && cfg.Save != "" { // written before runPool appends the run's line
				err = saveKept(cfg.Save, cfg.Results, r)
			}
			if err == nil { // the record names the weights relative to the results file, with their hash
				r.Weights, r.WeightsSHA256, r.TestLimit = report.RecordedPath(cfg.Results, run.Weights), sha, cfg.TestLimit
			}
			return r, err
		},
		func(run PostTrainConfig, r *RunResult) string {
			return fmt.Sprintf("%s: best %.2f%% mean %.2f%%", run.Key(), 100*r.Best, 100*r.Mean)
		}, w)
}

// noteUnsaved tells which runs of the grid's own results file, finished before and so
// not run again, have no saved weights (they ran without --save).
func noteUnsaved(w io.Writer, cfg GridConfig, done []RunResult) {
	var keys []string
	for _, r := range done {
		if r.Saved == "" {
			keys = append(keys, r.Key())
		}
	}
	n := len(keys)
	if n > 5 {
		keys = append(keys[:5], "…")
	}
	if len(keys) > 0 {
		fmt.Fprintf(w, "--save: %d runs already in %s were made without --save and are not run again, so they have no saved weights (%s); post-train them into another --results to save them\n",
			n, cfg.Task.File(cfg.Results), strings.Join(keys, ", "))
	}
}

// ReportRun converts a finished run for package report.
func ReportRun(r RunResult) report.Run {
	return report.Run{
		Model: r.Model, Dataset: r.Dataset, Weights: r.Weights, Tap: r.Tap, CRec: r.CRec, Seed: r.Seed,
		Epochs: r.Epochs, Batch: r.Batch, LR: r.LR, WD: r.WD, Mode: r.Mode,
		TestAcc: r.TestAcc, Best: r.Best, Mean: r.Mean, WeightsSHA256: r.WeightsSHA256,
	}
}

// runsElsewhere lists the keys of the runs in the files of cfg.Results other than own (the
// one-process file and every task file), each checked to fit the grid's settings.
func runsElsewhere(cfg GridConfig, own, sha string) (map[string]bool, error) {
	results := cfg.Results
	files, err := task.Files(results)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, f := range append(files, results) {
		if f == own {
			continue
		}
		runs, err := ReadResults(f)
		if err != nil {
			return nil, err
		}
		if err := resultsFit(f, runs, cfg, sha); err != nil {
			return nil, err
		}
		for _, r := range runs {
			have[r.Key()] = true
		}
	}
	return have, nil
}
