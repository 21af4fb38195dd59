package pipeline

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frpt/frpt/checkpoint"
)

// A manifest or shard that does not hold together is refused when the cache is opened,
// naming the field or shard, before anything is sized from it.
func TestCacheChecksManifestAndShards(t *testing.T) {
	needMNIST(t)
	root := t.TempDir()
	w := savedModel(t, root)
	src := filepath.Join(root, "cache")
	if _, err := Reconstruct(context.Background(), ReconstructConfig{Model: "simplecnn-v2", Dataset: "mnist", Weights: w,
		Limit: 4, Batch: 2, ShardSize: 2, OutDir: src}, io.Discard); err != nil {
		t.Fatal(err)
	}
	good, err := OpenCache(src)
	if err != nil {
		t.Fatal(err)
	}
	copyCache := func(edit func(m *CacheManifest)) string {
		dir := t.TempDir()
		for _, s := range good.Manifest.Shards {
			b, _ := os.ReadFile(filepath.Join(src, s.File))
			os.WriteFile(filepath.Join(dir, s.File), b, 0o644)
		}
		m := good.Manifest
		m.Shards = append([]CacheShard(nil), m.Shards...)
		m.Taps = append([]CacheTap(nil), m.Taps...)
		edit(&m)
		if err := WriteJSON(filepath.Join(dir, cacheManifest), m); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	cases := []struct {
		name string
		edit func(m *CacheManifest)
		want string
	}{
		{"path outside the folder", func(m *CacheManifest) { m.Shards[1].File = "../cache/" + m.Shards[1].File }, "want a .safetensors file name in the cache folder"},
		{"count beyond the shard", func(m *CacheManifest) { m.Shards[1].Count = 3_200_000_000; m.Total = 3_200_000_002 }, "tensor \"input\" has shape [2 1 28 28], manifest says [3200000000 1 28 28]"},
		{"total beyond the shards", func(m *CacheManifest) { m.Total = 9_000_000_000_000 }, "complete, but the shards hold 4 of 9000000000000 samples"},
		{"gap between shards", func(m *CacheManifest) { m.Shards[1].Start = 3 }, "shard 1 (shard-000001.safetensors): start 3"},
		{"tap twice", func(m *CacheManifest) { m.Taps = append(m.Taps, m.Taps[0]) }, "given twice"},
		{"overflowing shape", func(m *CacheManifest) { m.Input = []int{1 << 40, 1 << 40} }, "input shape"},
	}
	for _, c := range cases {
		_, err := OpenCache(copyCache(c.edit))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	// A label beyond the classes is refused on loading.
	dir := copyCache(func(*CacheManifest) {})
	s0 := good.Manifest.Shards[0]
	f, err := checkpoint.Read(filepath.Join(dir, s0.File))
	if err != nil {
		t.Fatal(err)
	}
	lab, _ := f.Lookup("label")
	lab.Data[0] = 77 // little-endian int64: label 77
	if err := checkpoint.WriteTensors(filepath.Join(dir, s0.File), f.Tensors, f.Meta); err != nil {
		t.Fatal(err)
	}
	c, err := OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Load("out"); err == nil || !strings.Contains(err.Error(), "label 77 outside [0, 10)") {
		t.Fatalf("error %v, want the label refused", err)
	}
}
