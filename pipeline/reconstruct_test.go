package pipeline

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/models"
)

// needMNIST skips when the MNIST files are not on this machine.
func needMNIST(t *testing.T) {
	t.Helper()
	if _, err := data.Open("mnist", "test", ""); err != nil {
		t.Skipf("real MNIST not available: %v", err)
	}
}

// savedModel writes a freshly initialised SimpleCNN v2 (MNIST) checkpoint.
func savedModel(t *testing.T, dir string) string { return savedModelTB(t, dir) }

func savedModelTB(t testing.TB, dir string) string {
	t.Helper()
	m, err := models.New[float32]("simplecnn-v2", "mnist", 3)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "w.safetensors")
	if err := checkpoint.Save(path, m.Params(), map[string]string{"arch": "simplecnn-v2"}); err != nil {
		t.Fatal(err)
	}
	return path
}

func shardTensors(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	c, err := OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, s := range c.Manifest.Shards {
		r, err := checkpoint.Open(filepath.Join(dir, s.File))
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range r.Tensors {
			name := h.Name
			tt, err := r.ReadTensor(name)
			if err != nil {
				t.Fatal(err)
			}
			out[s.File+"/"+name] = tt.Data
		}
		r.Close()
	}
	return out
}

// TestReconstructResume kills a pass after its first shard and reruns it: the cache must
// equal an uninterrupted pass, tensor for tensor, and hold every sample once.
func TestReconstructResume(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	w := savedModel(t, dir)
	cfg := ReconstructConfig{Model: "simplecnn-v2", Dataset: "mnist", Weights: w, Limit: 700, Batch: 128, ShardSize: 256, Augment: true, Seed: 5}
	full := cfg
	full.OutDir = filepath.Join(dir, "full")
	sum, err := Reconstruct(context.Background(), full, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Samples != 700 || sum.NewSamples != 700 || len(sum.Taps) != 3 {
		t.Fatalf("summary %+v", sum)
	}
	killed := cfg
	killed.OutDir = filepath.Join(dir, "killed")
	killed.StopAfter = 1
	if _, err := Reconstruct(context.Background(), killed, io.Discard); !IsStopped(err) {
		t.Fatalf("want the early stop, got %v", err)
	}
	if _, err := OpenCache(killed.OutDir); err == nil || !strings.Contains(err.Error(), "unfinished") {
		t.Fatalf("an unfinished cache must be refused, got %v", err)
	}
	killed.StopAfter = 0
	var log bytes.Buffer
	sum2, err := Reconstruct(context.Background(), killed, &log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "resuming") || sum2.NewSamples != 700-256 {
		t.Fatalf("did not resume: %d new samples; log %q", sum2.NewSamples, log.String())
	}
	a, b := shardTensors(t, full.OutDir), shardTensors(t, killed.OutDir)
	if len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Fatalf("resumed cache differs from the uninterrupted one (%d vs %d tensors)", len(a), len(b))
	}
	// A rerun of a finished cache reconstructs nothing and keeps the timing of the pass
	// that did (reconstruct.json is what reports quote).
	again, err := Reconstruct(context.Background(), full, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if again.NewSamples != 0 || again.ImagesPerSec != sum.ImagesPerSec || again.Seconds != sum.Seconds || again.ComputePerS != sum.ComputePerS {
		t.Fatalf("rerun of a finished cache: %d new samples, %.1f s, %.0f images/s; want 0 and the first pass's %.1f s, %.0f images/s",
			again.NewSamples, again.Seconds, again.ImagesPerSec, sum.Seconds, sum.ImagesPerSec)
	}
	set, err := mustOpen(t, full.OutDir).Load("out", "z2", "z1")
	if err != nil {
		t.Fatal(err)
	}
	if set.N != 700 || len(set.Targets["z1"]) != 700*3*24*24 {
		t.Fatalf("loaded %d samples, z1 %d values", set.N, len(set.Targets["z1"]))
	}
	// A different job in the same folder is refused, naming what differs.
	other := cfg
	other.OutDir, other.Seed = full.OutDir, 6
	if _, err := Reconstruct(context.Background(), other, io.Discard); err == nil || !strings.Contains(err.Error(), "different reconstruction") {
		t.Fatalf("want a refusal of another job's cache, got %v", err)
	}
	// A truncated shard is refused when the cache is opened.
	shard := filepath.Join(full.OutDir, "shard-000001.safetensors")
	fi, _ := os.Stat(shard)
	if err := os.Truncate(shard, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCache(full.OutDir); err == nil || !strings.Contains(err.Error(), "shard-000001") {
		t.Fatalf("want a truncated-shard error naming the shard, got %v", err)
	}
}

func mustOpen(t *testing.T, dir string) *Cache {
	t.Helper()
	c, err := OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cancelOn cancels a context when a line containing s is written.
type cancelOn struct {
	s      string
	cancel context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.s) {
		c.cancel()
	}
	return len(p), nil
}

// TestGridResume interrupts a post-training grid after its first finished run (the
// other worker is killed mid-run) and resumes it: the final results equal an
// uninterrupted grid's, run for run.
func TestGridResume(t *testing.T) {
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
	base.Model, base.Dataset, base.Weights, base.Epochs, base.Batch, base.LR = "simplecnn-v2", "mnist", w, 2, 128, 1e-3
	grid := func(results string) GridConfig {
		return GridConfig{Base: base, Cache: cacheDir, Taps: []string{"out", "z1"}, CRecs: []float64{0, 0.3}, Seeds: []uint64{0, 1}, Workers: 2, Results: results}
	}
	full, err := RunGrid(context.Background(), grid(filepath.Join(dir, "full.jsonl")), io.Discard)
	if err != nil || len(full) != 8 {
		t.Fatalf("full grid: %d runs, %v", len(full), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	part := filepath.Join(dir, "part.jsonl")
	_, err = RunGrid(ctx, grid(part), &cancelOn{s: "[1/8]", cancel: cancel})
	if err == nil {
		t.Fatal("the interrupted grid reported success")
	}
	got, _ := ReadResults(part)
	if len(got) == 0 || len(got) >= 8 {
		t.Fatalf("interrupted grid kept %d runs; want some but not all", len(got))
	}
	// A torn line from a kill during an append is ignored and rewritten.
	f, _ := os.OpenFile(part, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"model":"simplecnn-v2","tap":"o`)
	f.Close()
	resumed, err := RunGrid(context.Background(), grid(part), io.Discard)
	if err != nil || len(resumed) != 8 {
		t.Fatalf("resumed grid: %d runs, %v", len(resumed), err)
	}
	want := map[string][]float64{}
	for _, r := range full {
		want[r.Key()] = r.TestAcc
	}
	for _, r := range resumed {
		if !reflect.DeepEqual(want[r.Key()], r.TestAcc) {
			t.Errorf("%s: resumed %v, uninterrupted %v", r.Key(), r.TestAcc, want[r.Key()])
		}
	}
	checkRecordedWeights(t, part, w)
}
