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

	"github.com/frpt/frpt/task"
)

// pretrainedMNIST is the committed pretrained SimpleCNN v2 checkpoint (97.77 %).
const pretrainedMNIST = "../results/mnist-simplecnn-v2/pretrained-best.safetensors"

// shardBytes returns the bytes of every shard file of the cache in dir.
func shardBytes(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, s := range mustOpen(t, dir).Manifest.Shards {
		b, err := os.ReadFile(filepath.Join(dir, s.File))
		if err != nil {
			t.Fatal(err)
		}
		out[s.File] = b
	}
	return out
}

// A pass split over two tasks, one of them killed after its first shard and rerun,
// gives the one-process cache: the same manifest, the same shard files byte for byte and
// so the same tensors; the last task to finish merges manifest.json, and before that the
// cache is refused as unfinished, naming the missing shards.
func TestReconstructTwoTasksEqualsOneProcess(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	// 700 samples in shards of 128: shards 0–5, task 0/2 takes 0–2, task 1/2 takes 3–5.
	cfg := ReconstructConfig{Model: "simplecnn-v2", Dataset: "mnist", Weights: pretrainedMNIST, Limit: 700, Batch: 64, ShardSize: 128, Augment: true, Seed: 3}
	one := cfg
	one.OutDir = filepath.Join(dir, "one")
	if _, err := Reconstruct(context.Background(), one, io.Discard); err != nil {
		t.Fatal(err)
	}
	split := cfg
	split.OutDir = filepath.Join(dir, "split")
	t1 := split
	t1.Task, t1.StopAfter = task.Task{Index: 1, Count: 2}, 1 // killed after shard 3
	if _, err := Reconstruct(context.Background(), t1, io.Discard); !IsStopped(err) {
		t.Fatalf("want the early stop of task 1/2, got %v", err)
	}
	t0 := split
	t0.Task = task.Task{Index: 0, Count: 2}
	var log bytes.Buffer
	s0, err := Reconstruct(context.Background(), t0, &log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "task 0/2: shards 0–2 of 6 (samples 0–383 of 700)") {
		t.Errorf("task 0/2 did not say its share: %q", log.String())
	}
	if s0.Task != "task 0/2" || s0.Samples != 384 || s0.NewSamples != 384 {
		t.Errorf("task 0/2 summary: %+v", s0)
	}
	if _, err := os.Stat(filepath.Join(split.OutDir, cacheManifest)); !os.IsNotExist(err) {
		t.Fatalf("manifest.json was written before every task finished (%v)", err)
	}
	if _, err := OpenCache(split.OutDir); err == nil || !strings.Contains(err.Error(), "unfinished") || !strings.Contains(err.Error(), "missing shards: 4–5") {
		t.Fatalf("a cache with missing shards must be refused naming them, got %v", err)
	}
	t1.StopAfter = 0
	log.Reset()
	s1, err := Reconstruct(context.Background(), t1, &log)
	if err != nil {
		t.Fatal(err)
	}
	if s1.NewSamples != 700-512 || !strings.Contains(log.String(), "188 samples to do") {
		t.Fatalf("task 1/2 did not resume its block: %d new samples; log %q", s1.NewSamples, log.String())
	}
	a, b := mustOpen(t, one.OutDir).Manifest, mustOpen(t, split.OutDir).Manifest
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("merged manifest\n%+v\nwant the one-process\n%+v", b, a)
	}
	var merged CacheManifest
	if err := readJSON(filepath.Join(split.OutDir, cacheManifest), &merged); err != nil || !merged.Complete {
		t.Fatalf("manifest.json not merged by the last task: %+v, %v", merged, err)
	}
	if fa, fb := shardBytes(t, one.OutDir), shardBytes(t, split.OutDir); len(fa) != 6 || !reflect.DeepEqual(fa, fb) {
		t.Fatalf("shard files differ from the one-process pass (%d vs %d files)", len(fa), len(fb))
	}
	if ta, tb := shardTensors(t, one.OutDir), shardTensors(t, split.OutDir); len(ta) == 0 || !reflect.DeepEqual(ta, tb) {
		t.Fatalf("tensors differ from the one-process pass (%d vs %d)", len(ta), len(tb))
	}
	var whole, single ReconstructSummary
	if err := readJSON(filepath.Join(split.OutDir, reconstructSummary), &whole); err != nil {
		t.Fatal(err)
	}
	if err := readJSON(filepath.Join(one.OutDir, reconstructSummary), &single); err != nil {
		t.Fatal(err)
	}
	// Gap statistics and fallbacks are read from the shards, so the killed attempt's shard
	// counts as in the one-process pass.
	if whole.Samples != 700 || whole.NewSamples != 384+188 || !reflect.DeepEqual(whole.Taps, single.Taps) {
		t.Errorf("merged summary %+v\nwant the gap statistics of the one-process pass %+v", whole, single)
	}
	// Rerunning a finished task does nothing and keeps the cache.
	s1, err = Reconstruct(context.Background(), t1, io.Discard)
	if err != nil || s1.NewSamples != 0 {
		t.Fatalf("rerun of a finished task: %d new samples, %v", s1.NewSamples, err)
	}
	// A task of another job in the same folder is refused, naming the manifest.
	other := t0
	other.Seed = 4
	if _, err := Reconstruct(context.Background(), other, io.Discard); err == nil || !strings.Contains(err.Error(), "different reconstruction") {
		t.Fatalf("want a refusal of another job's cache, got %v", err)
	}
}

// Tasks with empty blocks (more tasks than shards), a whole pass finishing what tasks
// left, and a task resuming a cache started by a one-process pass all end in the
// one-process cache.
func TestReconstructTasksMixedWithWholePass(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	cfg := ReconstructConfig{Model: "simplecnn-v2", Dataset: "mnist", Weights: pretrainedMNIST, Limit: 300, Batch: 64, ShardSize: 128, Augment: true, Seed: 1}
	one := cfg
	one.OutDir = filepath.Join(dir, "one")
	if _, err := Reconstruct(context.Background(), one, io.Discard); err != nil {
		t.Fatal(err)
	}
	want := shardTensors(t, one.OutDir)

	// 3 shards over 5 tasks: tasks 1, 3 and 4 have one shard each, 0 and 2 none.
	a := cfg
	a.OutDir = filepath.Join(dir, "a")
	for _, i := range []int{0, 2, 4} {
		c := a
		c.Task = task.Task{Index: i, Count: 5}
		if _, err := Reconstruct(context.Background(), c, io.Discard); err != nil {
			t.Fatalf("task %d/5: %v", i, err)
		}
	}
	if _, err := OpenCache(a.OutDir); err == nil || !strings.Contains(err.Error(), "missing shards: 0–1") {
		t.Fatalf("want shards 0–1 missing, got %v", err)
	}
	var log bytes.Buffer
	sum, err := Reconstruct(context.Background(), a, &log) // the whole pass finishes as task 0/1
	if err != nil {
		t.Fatal(err)
	}
	if sum.NewSamples != 256 || !strings.Contains(log.String(), "task 0/1") {
		t.Fatalf("whole pass over task parts: %d new samples; log %q", sum.NewSamples, log.String())
	}
	if got := shardTensors(t, a.OutDir); !reflect.DeepEqual(got, want) {
		t.Fatal("cache finished by a whole pass differs from the one-process cache")
	}

	// A one-process pass killed after one shard, finished by two tasks.
	b := cfg
	b.OutDir, b.StopAfter = filepath.Join(dir, "b"), 1
	if _, err := Reconstruct(context.Background(), b, io.Discard); !IsStopped(err) {
		t.Fatalf("want the early stop, got %v", err)
	}
	b.StopAfter = 0
	news := 0
	for i := 0; i < 2; i++ {
		c := b
		c.Task = task.Task{Index: i, Count: 2}
		s, err := Reconstruct(context.Background(), c, io.Discard)
		if err != nil {
			t.Fatalf("task %d/2: %v", i, err)
		}
		news += s.NewSamples
	}
	if news != 300-128 {
		t.Errorf("the tasks reconstructed %d samples; want the %d the killed pass left", news, 300-128)
	}
	if got := shardTensors(t, b.OutDir); !reflect.DeepEqual(got, want) {
		t.Fatal("cache finished by tasks differs from the one-process cache")
	}
}
