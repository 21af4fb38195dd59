package pipeline

import (
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/frpt/frpt/reverse"
	"github.com/frpt/frpt/task"
)

// TestAblationTargetsByHand checks the three output targets on hand-made logits: one-hot,
// max-assign with its ±10 clamp, and the nearest embedding (k = 1 and k = 2 violators),
// after which the true class is (co-)maximal and the logit sum is kept.
func TestAblationTargetsByHand(t *testing.T) {
	logits := []float32{
		1, 12, -15, 3, // label 0: one violator (class 1)
		0, 4, 2, 5, // label 2: two violators (classes 3 and 1)
	}
	labels := []int{0, 2}
	oh, err := OnlineTargets(reverse.OneHot, logits, 4, labels)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{1, 0, 0, 0, 0, 0, 1, 0}; !reflect.DeepEqual(oh, want) {
		t.Errorf("one-hot %v, want %v", oh, want)
	}
	ma, err := OnlineTargets(reverse.MaxAssign, logits, 4, labels)
	if err != nil {
		t.Fatal(err)
	}
	// Row 0: o_0 ← max = 12, then clamp to ±10; row 1: o_2 ← 5, nothing to clamp.
	if want := []float32{10, 10, -10, 3, 0, 4, 5, 5}; !reflect.DeepEqual(ma, want) {
		t.Errorf("max-assign %v, want %v", ma, want)
	}
	nt, err := NearestTargets(logits, 4, labels)
	if err != nil {
		t.Fatal(err)
	}
	// Row 0: d = (11, −16, 2) → S = {1}: level (1 + 12)/2 = 6.5.
	// Row 1: d = (−2, 2, 3) → k = 1 fails (2·2 > 3), k = 2: 0 ≤ 5 ≤ 6 → S = {3, 1}:
	// level (2 + 4 + 5)/3 = 11/3.
	want := []float32{6.5, 6.5, -15, 3, 0, 11.0 / 3, 11.0 / 3, 11.0 / 3}
	for i := range want {
		if math.Abs(float64(nt[i]-want[i])) > 1e-6 {
			t.Fatalf("nearest %v, want %v", nt, want)
		}
	}
	for r, y := range labels {
		row, orig := nt[r*4:(r+1)*4], logits[r*4:(r+1)*4]
		var s0, s1 float32
		for j := range row {
			if row[j] > row[y]+1e-6 {
				t.Errorf("row %d: class %d (%g) still beats the label (%g)", r, j, row[j], row[y])
			}
			s0 += orig[j]
			s1 += row[j]
		}
		if math.Abs(float64(s0-s1)) > 1e-5 {
			t.Errorf("row %d: logit sum %g became %g", r, s0, s1)
		}
	}
	if _, err := OnlineTargets(reverse.Nearest, logits, 4, labels); err == nil {
		t.Error("nearest accepted as an online target (it is static, from the pretrained logits)")
	}
	if _, err := NearestTargets(logits, 4, []int{0, 4}); err == nil {
		t.Error("label out of range accepted")
	}
}

// tinyAblation is an ablation of SimpleCNN-v2 on the first limit MNIST images: 1 epoch,
// seed 0, α ∈ {0, 0.3} (four runs), results in <dir>/one/results.jsonl of a new folder dir.
func tinyAblation(t *testing.T, limit int) (AblationConfig, string) {
	needMNIST(t)
	dir := t.TempDir()
	cfg := DefaultAblation()
	cfg.Model, cfg.Dataset, cfg.Weights = "simplecnn-v2", "mnist", savedModel(t, dir)
	cfg.Limit, cfg.Epochs, cfg.Seeds, cfg.Alphas = limit, 1, []uint64{0}, []float64{0, 0.3}
	cfg.Results = filepath.Join(dir, "one", "results.jsonl")
	return cfg, dir
}

// TestAblationRunResume runs a tiny ablation on real MNIST (512 images, 1 epoch, 1 seed,
// α ∈ {0, 0.3}): four runs, the summary files, a rerun that does nothing, and a resumed
// run (its line removed) that reproduces the same accuracy.
func TestAblationRunResume(t *testing.T) {
	ctx := context.Background()
	cfg, _ := tinyAblation(t, 512)
	sum, err := RunAblation(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if sum.New != 4 || len(sum.Runs) != 4 {
		t.Fatalf("%d runs done, %d in the summary; want 4 (none + three targets)", sum.New, len(sum.Runs))
	}
	mse := map[string]float64{}
	for _, r := range sum.Runs {
		if len(r.TestAcc) != 1 || r.TestAcc[0] <= 0 || r.TestAcc[0] > 1 || r.Samples != 512 || !r.Augment {
			t.Errorf("run %s: %+v", r.Key(), r)
		}
		mse[r.Embedding] = r.MeanMSE
	}
	if mse[AblationNone] != 0 || mse["one-hot"] <= 0 || mse["max-assign"] <= 0 || mse["nearest"] <= 0 || mse["one-hot"] == mse["nearest"] {
		t.Errorf("training MSE per target %v", mse)
	}
	if len(sum.Cells) != 4*2 { // epoch5/epoch10 do not exist after 1 epoch
		t.Errorf("%d summary cells, want 8: %+v", len(sum.Cells), sum.Cells)
	}
	if p := float64(sum.Pretrained); math.IsNaN(p) || p <= 0 || p > 1 {
		t.Errorf("pretrained accuracy %v", sum.Pretrained)
	}
	out := filepath.Dir(cfg.Results)
	rows := readCSV(t, filepath.Join(out, "ablation-summary.csv"))
	if !reflect.DeepEqual(rows[0], []string{"embedding", "alpha", "metric", "n", "mean", "sd", "ci95_low", "ci95_high"}) || len(rows) != 9 {
		t.Errorf("summary csv: header %v, %d rows", rows[0], len(rows))
	}
	for _, f := range []string{"ablation.md", "ablation-summary.json", "pretrained.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if png, err := os.ReadFile(filepath.Join(out, "ablation.png")); err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("plot: %v", err)
	}

	before, _ := os.ReadFile(cfg.Results)
	again, err := RunAblation(ctx, cfg, io.Discard)
	if err != nil || again.New != 0 {
		t.Fatalf("rerun: %d runs redone, %v", again.New, err)
	}
	if after, _ := os.ReadFile(cfg.Results); !bytes.Equal(before, after) {
		t.Fatal("rerun rewrote the results")
	}
	// Drop the nearest run (as if killed before it finished): only it is redone, with the
	// same outcome.
	var kept []string
	var removed AblationResult
	for _, r := range sum.Runs {
		if r.Embedding == "nearest" {
			removed = r
		}
	}
	for _, l := range strings.SplitAfter(strings.TrimSpace(string(before)), "\n") {
		if !strings.Contains(l, `"embedding":"nearest"`) {
			kept = append(kept, strings.TrimRight(l, "\n")+"\n")
		}
	}
	if err := os.WriteFile(cfg.Results, []byte(strings.Join(kept, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	resumed, err := RunAblation(ctx, cfg, io.Discard)
	if err != nil || resumed.New != 1 {
		t.Fatalf("resume: %d runs redone (want 1), %v", resumed.New, err)
	}
	for _, r := range resumed.Runs {
		if r.Embedding == "nearest" && !reflect.DeepEqual(r.TestAcc, removed.TestAcc) {
			t.Errorf("resumed nearest run: test acc %v, first time %v", r.TestAcc, removed.TestAcc)
		}
	}
}

// TestAblationTasks runs the same tiny ablation as one process and as 2 tasks (one after
// the other into one folder): the first task leaves the summary to the second, whose
// summary equals the one-process summary byte for byte, run by run; a later call without
// a task reads the task files, runs nothing and writes the same summary again.
func TestAblationTasks(t *testing.T) {
	ctx := context.Background()
	cfg, dir := tinyAblation(t, 256)
	one, err := RunAblation(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Results = filepath.Join(dir, "two", "results.jsonl")
	summary := filepath.Join(dir, "two", "ablation-summary.csv")
	cfg.Task = task.Task{Index: 1, Count: 2}
	first, err := RunAblation(ctx, cfg, io.Discard)
	if err != nil || first.New != 2 || first.Missing != 2 {
		t.Fatalf("task 1/2: %d runs done, %d missing (want 2, 2), %v", first.New, first.Missing, err)
	}
	if _, err := os.Stat(summary); err == nil {
		t.Fatal("task 1/2 wrote a summary before task 0/2 ran")
	}
	cfg.Task = task.Task{Index: 0, Count: 2}
	var log strings.Builder
	last, err := RunAblation(ctx, cfg, &log)
	if err != nil || last.New != 2 || last.Missing != 0 || !strings.Contains(log.String(), "task 0/2") {
		t.Fatalf("task 0/2: %d runs done, %d missing (want 2, 0), %v; log %q", last.New, last.Missing, err, log.String())
	}
	for _, f := range []string{task.Task{Index: 0, Count: 2}.File(cfg.Results), task.Task{Index: 1, Count: 2}.File(cfg.Results)} {
		if runs, err := readJSONLines[AblationResult](f); err != nil || len(runs) != 2 {
			t.Errorf("%s: %d runs, %v; want 2", f, len(runs), err)
		}
	}
	noTimes := func(rs []AblationResult) []AblationResult {
		out := slices.Clone(rs)
		for i := range out {
			out[i].EpochSecs = nil // wall time, the one field that differs
		}
		return out
	}
	if !reflect.DeepEqual(noTimes(one.Runs), noTimes(last.Runs)) {
		t.Errorf("2-task runs differ from the one-process runs:\n%+v\n%+v", last.Runs, one.Runs)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "one", "ablation-summary.csv"))
	got, err := os.ReadFile(summary)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("2-task summary (%v):\n%s\nwant\n%s", err, got, want)
	}
	os.Remove(summary)
	cfg.Task = task.Whole
	merged, err := RunAblation(ctx, cfg, io.Discard)
	if err != nil || merged.New != 0 {
		t.Fatalf("merge without a task: %d runs redone, %v", merged.New, err)
	}
	if got, _ := os.ReadFile(summary); !bytes.Equal(got, want) {
		t.Errorf("merged summary:\n%s\nwant\n%s", got, want)
	}
}
