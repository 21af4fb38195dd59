package pipeline

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/reverse"
	"github.com/frpt/frpt/task"
	"github.com/frpt/frpt/tensor"
)

// snapshotRun trains SimpleCNN-v2 on 256 MNIST images for epochs epochs, keeping a
// snapshot every saveEvery, into <dir>/run of a new folder dir.
func snapshotRun(t *testing.T, epochs, saveEvery int) (TrainConfig, string) {
	needMNIST(t)
	dir := t.TempDir()
	cfg, err := DefaultRecipe("simplecnn-v2", "mnist")
	if err != nil {
		t.Fatal(err)
	}
	cfg.OutDir, cfg.Limit, cfg.BatchSize, cfg.Epochs, cfg.SaveEvery = filepath.Join(dir, "run"), 256, 64, epochs, saveEvery
	if _, err := Pretrain(context.Background(), cfg, io.Discard); err != nil {
		t.Fatal(err)
	}
	return cfg, dir
}

// TestPretrainSaveEveryAndStageStudy trains a SimpleCNN on 256 real MNIST images with
// --save-every (changed on resume), then runs the stage study on its snapshots: finite
// gaps that match an independent reverse chain, the expected CSV columns, correlations
// over the stages after the first, and resuming without recomputation.
func TestPretrainSaveEveryAndStageStudy(t *testing.T) {
	ctx := context.Background()
	cfg, _ := snapshotRun(t, 2, 2)
	run := cfg.OutDir
	if _, err := os.Stat(filepath.Join(run, EpochCheckpoint(1))); !os.IsNotExist(err) {
		t.Fatalf("epoch 1 snapshot written with save-every 2 (stat: %v)", err)
	}
	cfg.Epochs, cfg.SaveEvery = 5, 1 // resume, with another snapshot interval
	var log bytes.Buffer
	if _, err := Pretrain(ctx, cfg, &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "resuming") {
		t.Fatalf("second run did not resume: %q", log.String())
	}
	cks, err := StageCheckpoints(run)
	if err != nil {
		t.Fatal(err)
	}
	var epochs []int
	for _, c := range cks {
		epochs = append(epochs, c.Epoch)
	}
	if !reflect.DeepEqual(epochs, []int{2, 3, 4, 5}) {
		t.Fatalf("snapshots of epochs %v, want [2 3 4 5]", epochs)
	}
	// The last snapshot holds the same weights as last.safetensors.
	a, b := loadSimpleCNN(t, cks[3].Path), loadSimpleCNN(t, filepath.Join(run, LastCheckpoint))
	for i, p := range a.Params() {
		if !reflect.DeepEqual(p.P.Value.Data, b.Params()[i].P.Value.Data) {
			t.Fatalf("epoch-005 and last differ in %s", p.Name)
		}
	}

	sc := DefaultStageConfig()
	sc.RunDir, sc.Limit, sc.Batch = run, 96, 32
	sum, err := StageStudy(ctx, sc, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if sum.New != 4 || len(sum.Stages) != 4 || !reflect.DeepEqual(sum.Taps, []string{"out", "z2", "z1"}) {
		t.Fatalf("study: %d new, %d stages, taps %v", sum.New, len(sum.Stages), sum.Taps)
	}
	logs, err := readLog(filepath.Join(run, logFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sum.Stages {
		if float64(st.TestAcc) != logs[st.Epoch-1].TestAcc || st.Samples != 96 {
			t.Errorf("epoch %d: test acc %v (log %v), %d samples", st.Epoch, st.TestAcc, logs[st.Epoch-1].TestAcc, st.Samples)
		}
		for _, tp := range st.Taps {
			for _, v := range []float64{tp.RelativeDiff, tp.AbsoluteDiff, tp.ForwardNorm} {
				if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
					t.Errorf("epoch %d tap %s: non-finite or negative statistic %+v", st.Epoch, tp.Tap, tp)
				}
			}
			if tp.ForwardNorm <= 0 {
				t.Errorf("epoch %d tap %s: zero forward norm", st.Epoch, tp.Tap)
			}
		}
		if out := st.tap("out"); out.RelativeDiff <= 0 || out.AbsoluteDiff <= 0 {
			t.Errorf("epoch %d: no gap at the output of a 256-image model (%+v)", st.Epoch, out)
		}
	}
	// Independent check: the chain's own per-sample gaps of epoch 3 on the same images.
	m := loadSimpleCNN(t, cks[1].Path)
	chain, err := reverse.NewChain(m, reverse.DefaultChainOptions())
	if err != nil {
		t.Fatal(err)
	}
	ds, _ := openSplit("mnist", "train", "", 96)
	loader := data.NewLoader(ds, data.TestTransform("mnist"), 96, false, 0, false)
	for bt := range loader.Epoch(0) {
		rec, err := chain.Run(tensor.FromData(bt.X, 96, 1, 28, 28), bt.Labels)
		if err != nil {
			t.Fatal(err)
		}
		for _, tap := range sum.Taps {
			mean := 0.0
			for _, g := range rec.Diags[tap].Gap {
				mean += g / 96
			}
			if got := sum.Stages[1].tap(tap).RelativeDiff; math.Abs(got-mean) > 1e-5*math.Max(mean, 1e-3) {
				t.Errorf("epoch 3 tap %s: relative_diff %.12g, chain's mean gap %.12g", tap, got, mean)
			}
		}
	}
	loader.Close()

	rows := readCSV(t, filepath.Join(sc.RunDir, "stage-study", "stages.csv"))
	wantHead := []string{"epoch", "checkpoint", "test_acc", "train_acc", "probe_acc", "samples", "tap", "relative_diff", "absolute_diff", "forward_norm", "method", "fallbacks"}
	if !reflect.DeepEqual(rows[0], wantHead) || len(rows) != 1+4*3 {
		t.Fatalf("stages.csv: header %v, %d rows", rows[0], len(rows))
	}
	rows = readCSV(t, filepath.Join(sc.RunDir, "stage-study", "correlations.csv"))
	if len(rows) != 1+2*3*3 || rows[0][0] != "accuracy" || rows[0][5] != "pearson_r" || rows[0][7] != "spearman_rho" {
		t.Fatalf("correlations.csv: header %v, %d rows", rows[0], len(rows))
	}
	for _, c := range sum.Correlations {
		if c.N != 3 || c.FirstEpoch != 3 {
			t.Errorf("%s/%s/%s: n %d from epoch %d, want 3 stages from epoch 3 (first dropped)", c.Accuracy, c.Metric, c.Tap, c.N, c.FirstEpoch)
		}
		if r := float64(c.PearsonR); !math.IsNaN(r) && math.Abs(r) > 1+1e-12 {
			t.Errorf("correlation %g out of range", r)
		}
	}
	png, err := os.ReadFile(filepath.Join(sc.RunDir, "stage-study", "stage-study.png"))
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("plot: %v", err)
	}
	if md, err := os.ReadFile(filepath.Join(sc.RunDir, "stage-study", "report.md")); err != nil || !strings.Contains(string(md), "Spearman") {
		t.Fatalf("report: %v", err)
	}

	// Resume: nothing recomputed, the state file untouched.
	state := filepath.Join(sc.RunDir, "stage-study", "stages.jsonl")
	before, _ := os.ReadFile(state)
	again, err := StageStudy(ctx, sc, io.Discard)
	if err != nil || again.New != 0 {
		t.Fatalf("rerun: %d stages recomputed, %v", again.New, err)
	}
	if after, _ := os.ReadFile(state); !bytes.Equal(before, after) {
		t.Fatal("rerun rewrote stages.jsonl")
	}
	// An interrupted study (last two stages missing) computes only those, identically.
	lines := strings.SplitAfter(strings.TrimSpace(string(before)), "\n")
	if err := os.WriteFile(state, []byte(strings.Join(lines[:2], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	resumed, err := StageStudy(ctx, sc, io.Discard)
	if err != nil || resumed.New != 2 {
		t.Fatalf("resume: %d stages recomputed (want 2), %v", resumed.New, err)
	}
	for i := range sum.Stages {
		if !reflect.DeepEqual(sum.Stages[i].Taps, resumed.Stages[i].Taps) {
			t.Errorf("epoch %d: resumed %+v, first %+v", sum.Stages[i].Epoch, resumed.Stages[i].Taps, sum.Stages[i].Taps)
		}
	}
	// A different probe set is not mixed up with the stored one.
	sc.Limit = 64
	other, err := StageStudy(ctx, sc, io.Discard)
	if err != nil || other.New != 4 || other.Samples != 64 {
		t.Fatalf("new probe size: %d recomputed, %v", other.New, err)
	}
}

func loadSimpleCNN(t *testing.T, path string) models.Model[float32] {
	t.Helper()
	m, err := models.New[float32]("simplecnn-v2", "mnist", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checkpoint.LoadInto(path, m.Params()); err != nil {
		t.Fatal(err)
	}
	return m
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("%s: %v (%d rows)", path, err, len(rows))
	}
	return rows
}

// TestStageStudyTasks runs the stage study of a 3-snapshot run as one process and as 2
// tasks into one folder: the first task to run leaves the summary to the second, whose
// stages.csv and correlations.csv equal the one-process files byte for byte.
func TestStageStudyTasks(t *testing.T) {
	ctx := context.Background()
	cfg, dir := snapshotRun(t, 3, 1)
	run := cfg.OutDir
	sc := DefaultStageConfig()
	sc.RunDir, sc.Limit, sc.Batch, sc.DropFirst = run, 64, 32, 0
	sc.OutDir = filepath.Join(dir, "one")
	if _, err := StageStudy(ctx, sc, io.Discard); err != nil {
		t.Fatal(err)
	}
	sc.OutDir = filepath.Join(dir, "two")
	sc.Task = task.Task{Index: 1, Count: 2}
	first, err := StageStudy(ctx, sc, io.Discard)
	if err != nil || first.New != 1 || first.Missing != 2 {
		t.Fatalf("task 1/2: %d stages done, %d missing (want 1, 2), %v", first.New, first.Missing, err)
	}
	if _, err := os.Stat(filepath.Join(sc.OutDir, "stages.csv")); err == nil {
		t.Fatal("task 1/2 wrote the summary before task 0/2 ran")
	}
	sc.Task = task.Task{Index: 0, Count: 2}
	last, err := StageStudy(ctx, sc, io.Discard)
	if err != nil || last.New != 2 || last.Missing != 0 || len(last.Stages) != 3 {
		t.Fatalf("task 0/2: %d stages done, %d missing, %d stages (want 2, 0, 3), %v", last.New, last.Missing, len(last.Stages), err)
	}
	for _, f := range []string{"stages.csv", "correlations.csv"} {
		want, _ := os.ReadFile(filepath.Join(dir, "one", f))
		got, err := os.ReadFile(filepath.Join(sc.OutDir, f))
		if err != nil || len(want) == 0 || !bytes.Equal(got, want) {
			t.Errorf("%s of 2 tasks (%v):\n%s\nwant\n%s", f, err, got, want)
		}
	}
	merged, err := readJSONLines[StageResult](filepath.Join(sc.OutDir, "stages.jsonl"))
	if err != nil || len(merged) != 3 {
		t.Errorf("merged stages.jsonl: %d stages, %v; want 3", len(merged), err)
	}
	sc.Task = task.Whole
	if again, err := StageStudy(ctx, sc, io.Discard); err != nil || again.New != 0 || len(again.Stages) != 3 {
		t.Errorf("rerun without a task: %d stages redone, %v", again.New, err)
	}
}
