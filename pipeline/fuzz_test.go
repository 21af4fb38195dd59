package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/frpt/frpt/report"
)

// Fuzz targets of what the pipeline reads back from disk: the feature cache's manifest
// and shards (seeded from a real cache of MNIST images through the reverse chain) and the
// JSON-lines results of the grid, the ablation and the stage study (seeded from the
// committed results/ files). No input may panic, and a cache that opens must load in full
// with the sizes its manifest promises.

// realCache reconstructs 4 real MNIST training images into a cache of two shards (small
// inputs keep the fuzzer fast).
func realCache(f *testing.F) (dir string, manifest []byte, shards [][]byte) {
	f.Helper()
	root := f.TempDir()
	w := savedModelTB(f, root)
	dir = filepath.Join(root, "cache")
	if _, err := Reconstruct(context.Background(), ReconstructConfig{Model: "simplecnn-v2", Dataset: "mnist", Weights: w,
		Limit: 4, Batch: 2, ShardSize: 2, OutDir: dir}, io.Discard); err != nil {
		f.Fatalf("the seed cache is reconstructed from real MNIST: %v", err)
	}
	manifest, err := os.ReadFile(filepath.Join(dir, cacheManifest))
	if err != nil {
		f.Fatal(err)
	}
	c, err := OpenCache(dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range c.Manifest.Shards {
		b, err := os.ReadFile(filepath.Join(dir, s.File))
		if err != nil {
			f.Fatal(err)
		}
		shards = append(shards, b)
	}
	return dir, manifest, shards
}

// loadAll opens the cache in dir and, if it opens, loads every tap and every gap: the
// sizes must be those of the manifest.
func loadAll(t *testing.T, dir string) {
	c, err := OpenCache(dir)
	if err != nil {
		return
	}
	var taps []string
	for _, tp := range c.Manifest.Taps {
		taps = append(taps, tp.Name)
	}
	set, err := c.Load(taps...)
	if err != nil {
		return
	}
	if len(set.Labels) != set.N || len(set.Inputs) != set.N*prod(set.Input) {
		t.Fatalf("loaded %d labels and %d inputs, manifest says %d samples of %v", len(set.Labels), len(set.Inputs), set.N, set.Input)
	}
	for _, tp := range c.Manifest.Taps {
		if len(set.Targets[tp.Name]) != set.N*prod(tp.Shape) {
			t.Fatalf("tap %s: %d values for %d samples of %v", tp.Name, len(set.Targets[tp.Name]), set.N, tp.Shape)
		}
		if _, err := c.Gaps(tp.Name); err != nil {
			return
		}
	}
}

func FuzzCacheManifest(f *testing.F) {
	src, manifest, _ := realCache(f)
	f.Add(manifest)
	f.Add(manifest[:len(manifest)/2])
	f.Add(bytes.Replace(manifest, []byte(`"count": 2`), []byte(`"count": 3200000000`), 1))
	f.Add(bytes.Replace(manifest, []byte(`"total": 4`), []byte(`"total": 9000000000000`), 1))
	f.Add(bytes.Replace(manifest, []byte(`"shard-000001.safetensors"`), []byte(`"../cache/shard-000001.safetensors"`), 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		for _, name := range []string{"shard-000000.safetensors", "shard-000001.safetensors"} {
			if err := os.Symlink(filepath.Join(src, name), filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, cacheManifest), b, 0o644); err != nil {
			t.Fatal(err)
		}
		loadAll(t, dir)
	})
}

func FuzzCacheShard(f *testing.F) {
	src, _, shards := realCache(f)
	c, err := OpenCache(src)
	if err != nil {
		f.Fatal(err)
	}
	m := c.Manifest // one shard: the fuzzed one
	m.Shards, m.Total = m.Shards[:1], m.Shards[0].Count
	mb, err := json.Marshal(m)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(shards[0])
	f.Add(shards[1])
	f.Add(shards[0][:len(shards[0])-7])
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, cacheManifest), mb, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, m.Shards[0].File), b, 0o644); err != nil {
			t.Fatal(err)
		}
		loadAll(t, dir)
	})
}

// realJSONLines returns the first lines of the committed results files.
func realJSONLines(tb testing.TB) [][]byte {
	var out [][]byte
	files, _ := filepath.Glob(filepath.Join("..", "results", "*", "*.jsonl"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		var keep bytes.Buffer
		for i := 0; i < 4 && sc.Scan(); i++ {
			keep.Write(sc.Bytes())
			keep.WriteByte('\n')
		}
		out = append(out, keep.Bytes())
	}
	if len(out) < 3 {
		tb.Fatalf("only %d results/*/*.jsonl files to seed the corpus", len(out))
	}
	return out
}

// FuzzResultsJSONL reads the same bytes as the grid's, the ablation's and the stage
// study's JSON lines and runs what each command does with what it read.
func FuzzResultsJSONL(f *testing.F) {
	for _, b := range realJSONLines(f) {
		f.Add(b)
		f.Add(b[:len(b)-len(b)/4]) // a torn last line
	}
	base := DefaultPostTrain()
	base.Model, base.Dataset, base.Weights = "simplecnn-v2", "mnist", "w.safetensors"
	grid := GridConfig{Base: base, Taps: []string{"out"}, CRecs: []float64{0}, Seeds: []uint64{0}}
	f.Fuzz(func(t *testing.T, b []byte) {
		if runs, err := decodeJSONLines[RunResult]("results.jsonl", bytes.NewReader(b)); err == nil && len(runs) > 0 {
			_ = resultsFit("results.jsonl", runs, grid, "abc")
			rr := make([]report.Run, 0, len(runs))
			for _, r := range runs {
				_ = r.Key()
				if r.Model != "" && r.Tap != "" {
					rr = append(rr, ReportRun(r))
				}
			}
			if len(rr) > 0 {
				if s, err := report.AnalyzeGrid(rr, report.GridOptions{Resamples: 32}); err == nil {
					_ = s.Text()
				}
			}
		}
		if runs, err := decodeJSONLines[AblationResult]("results.jsonl", bytes.NewReader(b)); err == nil {
			for _, r := range runs {
				_ = r.Key()
			}
			_ = SummarizeAblation(runs)
		}
		if stages, err := decodeJSONLines[StageResult]("stages.jsonl", bytes.NewReader(b)); err == nil && len(stages) > 0 {
			var taps []string
			for _, tp := range stages[0].Taps {
				taps = append(taps, tp.Tap)
			}
			_ = stageCorrelations(stages, taps, 1)
		}
	})
}
