package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testManifest() CacheManifest {
	return CacheManifest{Model: "simplecnn-v2", Dataset: "mnist", WeightsSHA256: "abc", Seed: 1,
		Embedding: "nearest", ConvMethod: "fft_pad", Input: []int{1, 2, 2},
		Taps: []CacheTap{{"out", []int{3}}, {"z1", []int{2}}}, Total: 5, ShardSize: 2}
}

// writeSamples stores samples [from, to) where sample i has input value i, label i%3.
func writeSamples(t *testing.T, w *CacheWriter, from, to int) {
	t.Helper()
	var in, out, z1 []float32
	var lab, idx []int
	for i := from; i < to; i++ {
		for k := 0; k < 4; k++ {
			in = append(in, float32(i))
		}
		out = append(out, float32(i), float32(i), float32(i))
		z1 = append(z1, float32(-i), float32(-i))
		lab, idx = append(lab, i%3), append(idx, 100+i)
	}
	if err := w.WriteShard(in, lab, idx, [][]float32{out, z1}); err != nil {
		t.Fatal(err)
	}
}

// A pass interrupted after a shard (and even after a shard file whose manifest update was
// lost) resumes at the right sample and yields every sample exactly once.
func TestCacheResumeNoLossNoDuplicate(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenCacheWriter(dir, testManifest())
	if err != nil {
		t.Fatal(err)
	}
	writeSamples(t, w, 0, 2)
	// Simulate a kill after writing shard 1's file but before the manifest update.
	manifest, _ := os.ReadFile(filepath.Join(dir, cacheManifest))
	writeSamples(t, w, 2, 4)
	if err := os.WriteFile(filepath.Join(dir, cacheManifest), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err = OpenCacheWriter(dir, testManifest())
	if err != nil {
		t.Fatal(err)
	}
	if w.Next() != 2 {
		t.Fatalf("resume at %d, want 2", w.Next())
	}
	if _, err := OpenCache(dir); err == nil || !strings.Contains(err.Error(), "unfinished") {
		t.Fatalf("unfinished cache opened: %v", err)
	}
	writeSamples(t, w, 2, 4)
	writeSamples(t, w, 4, 5)
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	c, err := OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	set, err := c.Load("z1")
	if err != nil {
		t.Fatal(err)
	}
	if set.N != 5 || len(set.Labels) != 5 || len(set.Inputs) != 20 || len(set.Targets["z1"]) != 10 {
		t.Fatalf("loaded %+v", set)
	}
	for i := 0; i < 5; i++ {
		if set.Inputs[4*i] != float32(i) || set.Labels[i] != i%3 || set.Targets["z1"][2*i] != float32(-i) {
			t.Fatalf("sample %d wrong: input %v label %v target %v", i, set.Inputs[4*i], set.Labels[i], set.Targets["z1"][2*i])
		}
	}
	if _, err := c.Load("z9"); err == nil {
		t.Fatal("unknown tap accepted")
	}
}

func TestCacheRefusesOtherJobAndDamage(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenCacheWriter(dir, testManifest())
	if err != nil {
		t.Fatal(err)
	}
	writeSamples(t, w, 0, 2)
	other := testManifest()
	other.WeightsSHA256 = "def"
	if _, err := OpenCacheWriter(dir, other); err == nil || !strings.Contains(err.Error(), "different reconstruction") {
		t.Fatalf("other job accepted: %v", err)
	}
	writeSamples(t, w, 2, 4)
	writeSamples(t, w, 4, 5)
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	// Truncate a shard: opening the cache must fail naming it.
	shard := filepath.Join(dir, "shard-000001.safetensors")
	st, _ := os.Stat(shard)
	if err := os.Truncate(shard, st.Size()-8); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCache(dir); err == nil || !strings.Contains(err.Error(), "shard-000001") {
		t.Fatalf("truncated shard accepted: %v", err)
	}
}
