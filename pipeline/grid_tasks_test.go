package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/frpt/frpt/report"
	"github.com/frpt/frpt/task"
)

// numbers is a run's record without its timings (the only fields that may differ
// between two computations of the same run).
func numbers(r RunResult) RunResult {
	r.EpochSecs, r.EvalSecs, r.SegmentSecs, r.PrecomputeSecs = nil, nil, nil, 0
	return r
}

// A grid split over 3 tasks, one of them killed after its first run and rerun, equals
// the one-process grid run by run, bit for bit on every number; each task wrote only its
// own file; report.ReadResultSet merges the folder (and the base name) into the same runs
// and refuses a duplicated run and a file made with other settings, naming them.
func TestGridThreeTasksEqualsOneProcess(t *testing.T) {
	needMNIST(t)
	if testing.Short() {
		t.Skip("post-training grid in -short mode")
	}
	dir := t.TempDir()
	w := savedModel(t, dir)
	cacheDir := filepath.Join(dir, "cache")
	if _, err := Reconstruct(context.Background(), ReconstructConfig{Model: "simplecnn-v2", Dataset: "mnist", Weights: w, Limit: 512, Batch: 256, OutDir: cacheDir}, io.Discard); err != nil {
		t.Fatal(err)
	}
	base := DefaultPostTrain()
	base.Model, base.Dataset, base.Weights, base.Epochs, base.Batch, base.LR = "simplecnn-v2", "mnist", w, 1, 128, 1e-3
	grid := func(results string, tk task.Task) GridConfig {
		return GridConfig{Base: base, Cache: cacheDir, Taps: []string{"out", "z1"}, CRecs: []float64{0, 0.3}, Seeds: []uint64{0, 1}, Workers: 2, Results: results, TestLimit: 500, Task: tk}
	}
	full, err := RunGrid(context.Background(), grid(filepath.Join(dir, "one", "results.jsonl"), task.Whole), io.Discard)
	if err != nil || len(full) != 8 {
		t.Fatalf("one-process grid: %d runs, %v", len(full), err)
	}
	results := filepath.Join(dir, "split", "results.jsonl")
	// Task 1/3 (runs 1, 4, 7) is killed after its first finished run.
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := RunGrid(ctx, grid(results, task.Task{Index: 1, Count: 3}), &cancelOn{s: "[1/3]", cancel: cancel}); err == nil {
		t.Fatal("the interrupted task reported success")
	}
	cancel()
	for i := 0; i < 3; i++ {
		tk := task.Task{Index: i, Count: 3}
		var log strings.Builder
		runs, err := RunGrid(context.Background(), grid(results, tk), &log)
		if err != nil {
			t.Fatalf("%s: %v", tk, err)
		}
		if want := len(grid(results, tk).TaskRuns()); len(runs) != want {
			t.Fatalf("%s: %d runs, want its %d", tk, len(runs), want)
		}
		if !strings.Contains(log.String(), tk.String()+": runs i ≡ ") {
			t.Errorf("%s did not say its share: %q", tk, log.String())
		}
	}
	if _, err := os.Stat(results); !os.IsNotExist(err) {
		t.Fatalf("a task wrote the base results file (%v)", err)
	}
	// Rerunning a finished task runs nothing.
	var log strings.Builder
	if runs, err := RunGrid(context.Background(), grid(results, task.Task{Index: 1, Count: 3}), &log); err != nil || len(runs) != 3 || strings.Contains(log.String(), "[") {
		t.Fatalf("rerun of a finished task: %d runs, %v; log %q", len(runs), err, log.String())
	}
	want := map[string]RunResult{}
	for _, r := range full {
		want[r.Key()] = numbers(r)
	}
	got := map[string]RunResult{}
	for i := 0; i < 3; i++ {
		f := task.Task{Index: i, Count: 3}.File(results)
		runs, err := ReadResults(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if _, dup := got[r.Key()]; dup {
				t.Errorf("%s: run %s twice", f, r.Key())
			}
			got[r.Key()] = numbers(r)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("the tasks hold %d runs, the one-process grid %d", len(got), len(want))
	}
	for k, r := range want {
		if !reflect.DeepEqual(got[k], r) {
			t.Errorf("%s: tasks\n%+v\none process\n%+v", k, got[k], r)
		}
	}

	// report merges the folder or the base name into the one-process runs.
	decode := func(line []byte) (report.Run, error) { return decodeTestRun(line) }
	single, _, err := report.ReadResultSet(filepath.Join(dir, "one", "results.jsonl"), decode)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{results, filepath.Dir(results)} {
		merged, files, err := report.ReadResultSet(p, decode)
		if err != nil || len(files) != 3 {
			t.Fatalf("merge %s: %d files, %v", p, len(files), err)
		}
		if !sameRuns(merged, single) {
			t.Errorf("merge %s: the merged runs differ from the one-process file's", p)
		}
	}
	// A run copied into another task's file is refused, naming both files.
	f0, f2 := task.Task{Index: 0, Count: 3}.File(results), task.Task{Index: 2, Count: 3}.File(results)
	b0, _ := os.ReadFile(f0)
	b2, _ := os.ReadFile(f2)
	first, _, _ := strings.Cut(string(b0), "\n")
	if err := os.WriteFile(f2, append(b2, first+"\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := report.ReadResultSet(results, decode); !errors.Is(err, report.ErrDuplicateRun) || !strings.Contains(err.Error(), f0) || !strings.Contains(err.Error(), f2) {
		t.Errorf("want the duplicate refused naming %s and %s, got %v", f0, f2, err)
	}
	// A task file made with other epochs is refused, naming the field.
	if err := os.WriteFile(f2, []byte(strings.Replace(string(b2), `"epochs":1`, `"epochs":3`, -1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := report.ReadResultSet(results, decode); !errors.Is(err, report.ErrMixedSettings) || !strings.Contains(err.Error(), "epochs 1") || !strings.Contains(err.Error(), f2) {
		t.Errorf("want other epochs refused naming the field and %s, got %v", f2, err)
	}
}

// decodeTestRun decodes a results line as frpt report does.
func decodeTestRun(line []byte) (report.Run, error) {
	var r RunResult
	if err := json.Unmarshal(line, &r); err != nil {
		return report.Run{}, err
	}
	return ReportRun(r), nil
}

// sameRuns reports whether a and b hold the same runs in any order.
func sameRuns(a, b []report.Run) bool {
	if len(a) != len(b) {
		return false
	}
	key := func(r report.Run) string { return fmt.Sprintf("%s/%g/%d", r.Tap, r.CRec, r.Seed) }
	m := map[string]report.Run{}
	for _, r := range b {
		m[key(r)] = r
	}
	for _, r := range a {
		if !reflect.DeepEqual(m[key(r)], r) {
			return false
		}
	}
	return true
}
