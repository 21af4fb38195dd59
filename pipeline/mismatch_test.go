package pipeline

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFieldDiffsNamesEachFieldWithBothValues(t *testing.T) {
	a := CacheManifest{Model: "simplecnn-v2", Embedding: "nearest", Seed: 0, Input: []int{1, 28, 28}, Weights: "a.safetensors"}
	b := a
	b.Embedding, b.Seed, b.Weights, b.Input = "one-hot", 7, "b.safetensors", []int{1, 28, 28}
	got := strings.Join(a.jobDiffs(&b), "; ")
	want := `seed: cache has 0, this run asks 7; embedding: cache has "nearest", this run asks "one-hot"`
	if got != want {
		t.Fatalf("diffs %q, want %q (the weights file name is not the job)", got, want)
	}
	if d := a.jobDiffs(&a); len(d) != 0 {
		t.Fatalf("a manifest differs from itself: %v", d)
	}
	// nil and empty lists are the same in JSON
	c := a
	c.Taps = []CacheTap{}
	if d := a.jobDiffs(&c); len(d) != 0 {
		t.Fatalf("nil and empty taps differ: %v", d)
	}
}

// A cache folder holding another reconstruction is refused with the field that differs,
// not a list of fields that agree.
func TestCacheWriterNamesTheDifferingField(t *testing.T) {
	dir := t.TempDir()
	m := CacheManifest{Model: "simplecnn-v2", Dataset: "mnist", WeightsSHA256: "abc", Embedding: "nearest", ConvMethod: "fft_pad",
		Input: []int{1, 2, 2}, Taps: []CacheTap{{Name: "out", Shape: []int{3}}}, Total: 4, ShardSize: 2}
	if _, err := OpenCacheWriter(dir, m); err != nil {
		t.Fatal(err)
	}
	m.Embedding = "one-hot"
	_, err := OpenCacheWriter(dir, m)
	if err == nil || !strings.Contains(err.Error(), `embedding: cache has "nearest", this run asks "one-hot"`) ||
		strings.Contains(err.Error(), "model") || strings.Contains(err.Error(), "seed") {
		t.Fatalf("error %v, want the embedding named alone with both values", err)
	}
}

// Resuming a training run with another recipe names the differing setting.
func TestResumeNamesTheDifferingSetting(t *testing.T) {
	needMNIST(t)
	cfg, err := DefaultRecipe("simplecnn-v2", "mnist")
	if err != nil {
		t.Fatal(err)
	}
	cfg.OutDir, cfg.Epochs, cfg.Limit = t.TempDir(), 1, 256
	if _, err := Pretrain(context.Background(), cfg, io.Discard); err != nil {
		t.Fatal(err)
	}
	cfg.Epochs, cfg.LR = 2, 2e-3
	_, err = Pretrain(context.Background(), cfg, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "lr: the run there has 0.001, this run asks 0.002") || strings.Contains(err.Error(), "epochs") {
		t.Fatalf("error %v, want the learning rate named with both values (more epochs is a resume, not a difference)", err)
	}
}

// A results file whose runs were made with other settings is refused, naming them.
func TestResultsFitNamesTheDifferingSetting(t *testing.T) {
	base := DefaultPostTrain()
	base.Model, base.Dataset, base.Tap = "simplecnn-v2", "mnist", "out"
	g := GridConfig{Base: base, Taps: []string{"out"}, CRecs: []float64{0}, Seeds: []uint64{0}}
	done := []RunResult{{PostTrainConfig: base, WeightsSHA256: "abc"}}
	if err := resultsFit("r.jsonl", done, g, "abc"); err != nil {
		t.Fatal(err)
	}
	g.Base.Epochs = 3
	err := resultsFit("r.jsonl", done, g, "abc")
	if err == nil || !strings.Contains(err.Error(), "epochs: results file has 10, this run asks 3") {
		t.Fatalf("error %v, want the epochs named", err)
	}
	g.Base.Epochs = 10
	if err := resultsFit("r.jsonl", done, g, "def"); err == nil || !strings.Contains(err.Error(), `weights_sha256: results file has "abc", this run asks "def"`) {
		t.Fatalf("error %v, want the weights' hash named", err)
	}
	old := []RunResult{{PostTrainConfig: base}} // written before the hash was recorded
	if err := resultsFit("r.jsonl", old, g, "def"); err != nil {
		t.Fatalf("a results file of the old form is refused: %v", err)
	}
	other := []RunResult{{PostTrainConfig: PostTrainConfig{Model: "resnet18", Mode: "coupled", Epochs: 1}}}
	if err := resultsFit("r.jsonl", other, g, "abc"); err != nil {
		t.Fatalf("a run of another model is not this grid's: %v", err)
	}
}

// A kill after the optimiser's state is written but before the model's last checkpoint
// leaves the two an epoch apart. The rerun resumes from the kept optimiser state of the
// model's epoch, redoes the lost epoch and ends on the same bits as an uninterrupted run.
func TestResumeAfterKillBetweenOptimizerAndModel(t *testing.T) {
	needMNIST(t)
	cfg, err := DefaultRecipe("simplecnn-v2", "mnist")
	if err != nil {
		t.Fatal(err)
	}
	one, two := t.TempDir(), t.TempDir()
	cfg.Epochs, cfg.Limit = 1, 256
	cfg.OutDir = one
	if _, err := Pretrain(context.Background(), cfg, io.Discard); err != nil {
		t.Fatal(err)
	}
	cfg.Epochs, cfg.OutDir = 2, two
	if _, err := Pretrain(context.Background(), cfg, io.Discard); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(two, LastCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	ref := t.TempDir() // the uninterrupted run's optimizer files
	for _, name := range []string{optimizerFile, optimizerPrev} {
		b, err := os.ReadFile(filepath.Join(two, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ref, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// the state of the kill window: optimiser of epoch 2 (and the kept one of epoch 1), model of epoch 1
	epoch1, err := os.ReadFile(filepath.Join(one, LastCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(two, LastCheckpoint), epoch1, 0o644); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if _, err := Pretrain(context.Background(), cfg, &out); err != nil {
		t.Fatalf("resume in the kill window: %v", err)
	}
	if !strings.Contains(out.String(), "resuming") || !strings.Contains(out.String(), "after epoch 1") {
		t.Fatalf("output %q, want a resume after epoch 1", out.String())
	}
	got, err := os.ReadFile(filepath.Join(two, LastCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the resumed run's last checkpoint differs from the uninterrupted run's")
	}
	for _, name := range []string{optimizerFile, optimizerPrev} {
		a, errA := os.ReadFile(filepath.Join(two, name))
		b, errB := os.ReadFile(filepath.Join(ref, name))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Fatalf("%s differs from the uninterrupted run's (%v, %v)", name, errA, errB)
		}
	}
	// with neither state matching the model, the refusal names both files and their epochs
	if err := os.Remove(filepath.Join(two, optimizerPrev)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(two, LastCheckpoint), epoch1, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Epochs = 3
	_, err = Pretrain(context.Background(), cfg, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "the model is from epoch 1 but optimizer.safetensors is from epoch 2; use --fresh") {
		t.Fatalf("error %v, want the mismatch named", err)
	}
}
