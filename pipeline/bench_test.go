package pipeline

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/frpt/frpt/data"
)

// Pipeline benchmarks on real MNIST (60,000 training images) with a SimpleCNN v2:
//
//	go test ./pipeline -run XXX -bench . -benchtime 1x
//
// (FRPT_BENCH_DIR=<folder> keeps the pretrained model and the cache there between runs.)
//
// BenchmarkReconstruct reports images/s of the whole pass including the feature cache
// (the authors' code: about 2,150 images/s writing HDF5, 4,500 compute only);
// BenchmarkPostTrainEpoch seconds per post-training epoch at tap z1 for the c_rec = 0
// baseline, the paper's coupled loss and the decoupled mode (authors: 1.8 s + 0.76 s
// test evaluation), and for the hierarchical mode (tap "all": segments in→z1, z1→z2,
// z2→out trained concurrently; its eval-s is the stitched model's).

var benchCache struct {
	once         sync.Once
	dir, weights string
	err          error
}

func benchSetup(b *testing.B) (string, string) {
	if _, err := data.Open("mnist", "train", ""); err != nil {
		b.Skipf("real MNIST not available: %v", err)
	}
	benchCache.once.Do(func() {
		// FRPT_BENCH_DIR keeps the model and the cache between runs (Reconstruct resumes a
		// finished cache at once); by default they go to a new temporary directory.
		dir := os.Getenv("FRPT_BENCH_DIR")
		if dir == "" {
			if dir, benchCache.err = os.MkdirTemp("", "frpt-bench-"); benchCache.err != nil {
				return
			}
		} else if benchCache.err = os.MkdirAll(dir, 0o755); benchCache.err != nil {
			return
		}
		benchCache.weights = filepath.Join(dir, "w.safetensors")
		if _, err := os.Stat(benchCache.weights); err != nil {
			benchCache.weights = savedModelTB(b, dir)
		}
		benchCache.dir = filepath.Join(dir, "cache")
		_, benchCache.err = Reconstruct(context.Background(), ReconstructConfig{Model: "simplecnn-v2", Dataset: "mnist", Weights: benchCache.weights, OutDir: benchCache.dir}, io.Discard)
	})
	if benchCache.err != nil {
		b.Fatal(benchCache.err)
	}
	return benchCache.dir, benchCache.weights
}

func BenchmarkReconstruct(b *testing.B) {
	_, w := benchSetup(b)
	for i := 0; i < b.N; i++ {
		out := filepath.Join(b.TempDir(), "cache")
		sum, err := Reconstruct(context.Background(), ReconstructConfig{Model: "simplecnn-v2", Dataset: "mnist", Weights: w, OutDir: out}, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(sum.ImagesPerSec, "images/s")
		b.ReportMetric(sum.ComputePerS, "compute-images/s")
		b.ReportMetric(float64(sum.CacheBytes)/(1<<20), "cache-MiB")
	}
}

func BenchmarkPostTrainEpoch(b *testing.B) {
	dir, w := benchSetup(b)
	c, err := OpenCache(dir)
	if err != nil {
		b.Fatal(err)
	}
	set, err := c.Load("out", "z2", "z1") // every tap, for the hierarchical case
	if err != nil {
		b.Fatal(err)
	}
	test, err := data.Open("mnist", "test", "")
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []struct {
		name, tap string
		crec      float64
		mode      string
	}{{"baseline", "z1", 0, "coupled"}, {"coupled", "z1", 0.1, "coupled"}, {"decoupled", "z1", 0.1, "decoupled"},
		{"hierarchical", HierarchicalTap, 0.1, "hierarchical"}} {
		b.Run(mode.name, func(b *testing.B) {
			cfg := DefaultPostTrain()
			cfg.Model, cfg.Dataset, cfg.Weights, cfg.Tap, cfg.CRec, cfg.Mode, cfg.Epochs = "simplecnn-v2", "mnist", w, mode.tap, mode.crec, mode.mode, 1
			for i := 0; i < b.N; i++ {
				r, err := PostTrain(context.Background(), cfg, set, test, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(r.EpochSecs[0], "s/epoch")
				b.ReportMetric(r.EvalSecs[0], "eval-s")
			}
		})
	}
}
