package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/progress"
	"github.com/frpt/frpt/report"
	"github.com/frpt/frpt/reverse"
	"github.com/frpt/frpt/task"
	"github.com/frpt/frpt/tensor"
)

// ReconstructConfig is one reconstruction pass (spec §1.2): the training set, through a
// pretrained model and its reverse chain, into a feature cache.
type ReconstructConfig struct {
	Model, Dataset, DataDir, Weights string
	OutDir                           string // the cache folder
	Seed                             uint64 // augmentation seed
	Augment                          bool   // use the training augmentation (the paper does)
	Batch                            int    // samples per chain call (default 256)
	ShardSize                        int    // samples per shard (rounded up to a multiple of Batch; default 8192)
	Limit                            int    // only the first N training samples (0: all)
	Chain                            reverse.ChainOptions
	// Task is this process's share of a pass split over several (its block of whole
	// shards; cache_tasks.go); the zero value is the whole pass.
	Task task.Task
	// StopAfter ends the pass (as if killed) after this many shards; for tests.
	StopAfter int
}

// TapGapStats summarises the per-sample relative gaps ‖f − r‖/‖f‖ of one tap.
type TapGapStats = report.TapGap

// ReconstructSummary is written to <cache>/reconstruct.json.
type ReconstructSummary struct {
	Model         string `json:"model"`
	Dataset       string `json:"dataset"`
	Weights       string `json:"weights"` // relative to the cache folder (report.RecordedPath)
	WeightsSHA256 string `json:"weights_sha256"`
	Task          string `json:"task,omitempty"` // "task I/N" of a split pass
	Samples       int    `json:"samples"`        // in the pass (a task: in its block)
	NewSamples    int    `json:"new_samples"`    // reconstructed by this run (the rest resumed)
	// Seconds and the two speeds are of this run, or, when it only resumed a finished
	// cache (NewSamples 0), of the run that reconstructed it.
	Seconds      float64       `json:"seconds"`
	ImagesPerSec float64       `json:"images_per_sec"`         // including data loading and cache writing
	ComputePerS  float64       `json:"compute_images_per_sec"` // forward + reverse chain only
	Taps         []TapGapStats `json:"taps"`
	CacheBytes   int64         `json:"cache_bytes"`
}

// Reconstruct runs (or resumes) a reconstruction pass into cfg.OutDir.
func Reconstruct(ctx context.Context, cfg ReconstructConfig, w io.Writer) (*ReconstructSummary, error) {
	if cfg.Batch == 0 {
		cfg.Batch = 256
	}
	if cfg.ShardSize == 0 {
		cfg.ShardSize = 8192
	}
	cfg.Chain = chainDefaults(cfg.Chain)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.ShardSize = (cfg.ShardSize + cfg.Batch - 1) / cfg.Batch * cfg.Batch
	m, err := loadModel(cfg.Model, cfg.Dataset, 0, cfg.Weights)
	if err != nil {
		return nil, fmt.Errorf("reconstruct: %w", err)
	}
	sha, err := FileSHA256(cfg.Weights)
	if err != nil {
		return nil, err
	}
	ds, err := openSplit(cfg.Dataset, "train", cfg.DataDir, cfg.Limit)
	if err != nil {
		return nil, err
	}
	tf := data.TestTransform(cfg.Dataset)
	if cfg.Augment {
		tf = data.TrainTransform(cfg.Dataset)
	}
	// One chain (and model copy) per core: batches go through them concurrently, each
	// single-threaded, which also spreads the chain's serial steps over the cores.
	nw := max(tensor.Workers, 1)
	chains := make([]*reverse.Chain, nw)
	for i := range chains {
		mi := m
		if i > 0 {
			if mi, err = loadModel(cfg.Model, cfg.Dataset, 0, cfg.Weights); err != nil {
				return nil, fmt.Errorf("reconstruct: %w", err)
			}
		}
		if chains[i], err = reverse.NewChain(mi, cfg.Chain); err != nil {
			return nil, err
		}
	}
	c, h, wd := ds.Shape()
	// Tap shapes from a one-sample forward pass.
	m.Forward(tensor.New[float32](1, c, h, wd))
	var taps []CacheTap
	for _, name := range m.TapNames() {
		taps = append(taps, CacheTap{Name: name, Shape: append([]int(nil), m.Taps()[name].Shape[1:]...)})
	}
	cw, err := openShardSink(cfg.OutDir, CacheManifest{Model: cfg.Model, Dataset: cfg.Dataset, Weights: filepath.Base(cfg.Weights), WeightsSHA256: sha,
		Seed: cfg.Seed, Augment: cfg.Augment, Embedding: string(cfg.Chain.Embedding), ConvMethod: string(cfg.Chain.ConvMethod),
		Input: []int{c, h, wd}, Taps: taps, Total: ds.Len(), ShardSize: cfg.ShardSize}, cfg.Task)
	if err != nil {
		return nil, err
	}
	removeStale(cfg.OutDir)
	sum := &ReconstructSummary{Model: cfg.Model, Dataset: cfg.Dataset, Samples: ds.Len(),
		Weights: report.RecordedPath(filepath.Join(cfg.OutDir, reconstructSummary), cfg.Weights), WeightsSHA256: sha}
	todo := cw.Todo()
	left := describeTodo(w, cfg, cw, todo, ds.Len())
	t0 := time.Now()
	var compute time.Duration
	if left > 0 {
		loader := data.NewLoader(ds, tf, cfg.Batch, false, cfg.Seed, false)
		defer loader.Close()
		bar := progress.New(w, int64(left), "reconstruct")
		// Shards are written by one goroutine while the chains compute the next one
		// (double buffering: sh fills while the other buffer is on its way to disk).
		// Writes stay in order and the manifest lists a shard only once it is on disk.
		free := make(chan *shardBuf, 2)
		bufSize := min(cfg.ShardSize, left) // a --shard beyond the pass allocates only the pass
		free <- newShardBuf(bufSize, c*h*wd, taps)
		free <- newShardBuf(bufSize, c*h*wd, taps)
		sh := <-free
		full := make(chan *shardBuf, 1)
		var writeMu sync.Mutex
		var writeErr error
		writerErr := func() error { writeMu.Lock(); defer writeMu.Unlock(); return writeErr }
		var writerDone sync.WaitGroup
		writerDone.Add(1)
		go func(full <-chan *shardBuf) {
			defer writerDone.Done()
			for b := range full {
				if writerErr() == nil {
					err := cw.writeShard(b.inputs, b.labels, b.index, b.taps, b.gaps, b.diagMeta(taps))
					writeMu.Lock()
					writeErr = err
					writeMu.Unlock()
				}
				b.reset()
				free <- b
			}
		}(full)
		// waitWriter flushes the writer and returns its first error.
		waitWriter := func() error {
			if full != nil {
				close(full)
				full = nil
				writerDone.Wait()
			}
			return writerErr()
		}
		defer waitWriter()
		shards := 0
		if nw > 1 {
			old := tensor.Workers
			tensor.Workers = 1
			defer func() { tensor.Workers = old }()
		}
		var group []*data.Batch
		var span sampleSpan // the run of shards being computed
		pos := 0            // pass position of the next sample added to sh
		recs := make([]*reverse.Reconstruction, nw)
		errs := make([]error, nw)
		flush := func() error {
			tc := time.Now()
			var wg sync.WaitGroup
			for i, b := range group {
				wg.Add(1)
				go func() {
					defer wg.Done()
					recs[i], errs[i] = chains[i].Run(tensor.FromData(b.X, len(b.Labels), c, h, wd), b.Labels)
				}()
			}
			wg.Wait()
			compute += time.Since(tc)
			for i, b := range group {
				if errs[i] != nil {
					return fmt.Errorf("reconstruct samples %d…: %w", b.Index[0], errs[i])
				}
				sh.add(b, recs[i], taps)
				pos += len(b.Labels)
				loader.Release(b)
				bar.Add(int64(len(b.Labels)), "")
				if len(sh.labels) >= cfg.ShardSize || pos == span.Hi {
					n := len(sh.labels)
					full <- sh
					sh = <-free
					if err := writerErr(); err != nil {
						return err
					}
					sum.NewSamples += n
					shards++
					if cfg.StopAfter > 0 && shards >= cfg.StopAfter && sum.NewSamples < left {
						if err := waitWriter(); err != nil {
							return err
						}
						return errStopped
					}
				}
			}
			group = group[:0]
			return nil
		}
		for _, span = range todo {
			pos = span.Lo
			fed := span.Lo
			for b := range loader.Range(0, span.Lo) {
				if fed >= span.Hi {
					break
				}
				if err := ctx.Err(); err != nil {
					return nil, fmt.Errorf("reconstruct interrupted (finished shards are kept; rerun to resume): %w", err)
				}
				fed += len(b.Labels)
				if group = append(group, b); len(group) == nw {
					if err := flush(); err != nil {
						return nil, err
					}
				}
			}
			if len(group) > 0 {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
		if err := waitWriter(); err != nil {
			return nil, err
		}
		bar.Finish(fmt.Sprintf("%d samples", sum.NewSamples))
	}
	if err := cw.Finish(); err != nil {
		return nil, err
	}
	sum.Seconds = time.Since(t0).Seconds()
	if sum.NewSamples > 0 {
		sum.ImagesPerSec = float64(sum.NewSamples) / sum.Seconds
		sum.ComputePerS = float64(sum.NewSamples) / compute.Seconds()
	} else if prev, _, err := ReadReconstructSummary(cfg.OutDir); err == nil && prev.WeightsSHA256 == sha && prev.Samples == sum.Samples {
		// Everything resumed: keep the timing of the pass that reconstructed the samples.
		sum.Seconds, sum.ImagesPerSec, sum.ComputePerS = prev.Seconds, prev.ImagesPerSec, prev.ComputePerS
	}
	if err := writeSummaries(cfg, cw, sum, taps); err != nil {
		return nil, err
	}
	return sum, nil
}

// errStopped is returned when ReconstructConfig.StopAfter ends a pass early.
var errStopped = errors.New("reconstruct: stopped early (StopAfter)")

// IsStopped reports whether err is the early stop of ReconstructConfig.StopAfter.
func IsStopped(err error) bool { return errors.Is(err, errStopped) }

// shardBuf accumulates one shard.
type shardBuf struct {
	inputs        []float32
	labels, index []int
	taps, gaps    [][]float32
	// Per tap: the reverse operator of the shard's last batch and the Tikhonov fallbacks
	// over its batches, stored in the shard's metadata so that the pass's summary is the
	// same however often it was interrupted.
	methods   []string
	fallbacks []int
}

// diagMeta is the shard's metadata of its diagnostics: method_<tap> and fallbacks_<tap>.
func (s *shardBuf) diagMeta(taps []CacheTap) map[string]string {
	m := map[string]string{}
	for i, tp := range taps {
		m["method_"+tp.Name] = s.methods[i]
		m["fallbacks_"+tp.Name] = strconv.Itoa(s.fallbacks[i])
	}
	return m
}

// shardDiags sums the diagnostics of a cache's shards: per tap the method of the last
// shard and the fallbacks of all (shards written before they were recorded count none).
func shardDiags(c *Cache) (methods map[string]string, fallbacks map[string]int, err error) {
	methods, fallbacks = map[string]string{}, map[string]int{}
	for _, s := range c.Manifest.Shards {
		r, err := checkpoint.Open(filepath.Join(c.Dir, s.File))
		if err != nil {
			return nil, nil, fmt.Errorf("cache %s: shard %s: %w", c.Dir, s.File, err)
		}
		for _, tp := range c.Manifest.Taps {
			if m, ok := r.Meta["method_"+tp.Name]; ok {
				methods[tp.Name] = m
			}
			n, _ := strconv.Atoi(r.Meta["fallbacks_"+tp.Name])
			fallbacks[tp.Name] += n
		}
		r.Close()
	}
	return methods, fallbacks, nil
}

// newShardBuf allocates a shard's buffers once (growing them sample by sample would
// copy the whole shard many times over).
func newShardBuf(size, inputLen int, taps []CacheTap) *shardBuf {
	s := &shardBuf{inputs: make([]float32, 0, size*inputLen), labels: make([]int, 0, size), index: make([]int, 0, size),
		taps: make([][]float32, len(taps)), gaps: make([][]float32, len(taps)), methods: make([]string, len(taps)), fallbacks: make([]int, len(taps))}
	for i, tp := range taps {
		s.taps[i] = make([]float32, 0, size*prod(tp.Shape))
		s.gaps[i] = make([]float32, 0, size)
	}
	return s
}

func (s *shardBuf) reset() {
	s.inputs, s.labels, s.index = s.inputs[:0], s.labels[:0], s.index[:0]
	for i := range s.taps {
		s.taps[i], s.gaps[i] = s.taps[i][:0], s.gaps[i][:0]
		s.methods[i], s.fallbacks[i] = "", 0
	}
}

func (s *shardBuf) add(b *data.Batch, rec *reverse.Reconstruction, taps []CacheTap) {
	s.inputs = append(s.inputs, b.X...)
	s.labels = append(s.labels, b.Labels...)
	s.index = append(s.index, b.Index...)
	for i, tp := range taps {
		d := rec.Diags[tp.Name]
		s.methods[i], s.fallbacks[i] = d.Method, s.fallbacks[i]+d.Fallbacks
		s.taps[i] = append(s.taps[i], rec.Targets[tp.Name].Data...)
		for _, g := range rec.Diags[tp.Name].Gap {
			s.gaps[i] = append(s.gaps[i], float32(g))
		}
	}
}

func gapStats(g []float32) TapGapStats {
	if len(g) == 0 {
		return TapGapStats{}
	}
	v := make([]float64, len(g))
	s := 0.0
	for i, x := range g {
		v[i] = float64(x)
		s += v[i]
	}
	slices.Sort(v)
	q := func(p float64) float64 { return v[min(len(v)-1, int(math.Floor(p*float64(len(v)-1)+0.5)))] }
	return TapGapStats{Mean: s / float64(len(v)), Median: q(0.5), P90: q(0.9), Max: v[len(v)-1]}
}

// Gaps returns the per-sample relative gaps of a tap, in pass order.
func (c *Cache) Gaps(tap string) ([]float32, error) {
	if _, err := c.Tap(tap); err != nil {
		return nil, err
	}
	var out []float32
	for _, s := range c.Manifest.Shards {
		r, err := checkShard(c.Dir, &c.Manifest, s)
		if err != nil {
			return nil, err
		}
		t, err := r.ReadTensor("gap_" + tap)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("cache %s: shard %s: %w", c.Dir, s.File, err)
		}
		v, err := t.Float32s()
		if err != nil {
			return nil, fmt.Errorf("cache %s: shard %s: %w", c.Dir, s.File, err)
		}
		out = append(out, v...)
	}
	return out, nil
}

// cacheBytes is the size of a cache's manifest and shards (not of other files in its
// folder, which earlier runs may have left).
func cacheBytes(c *Cache) int64 {
	var n int64
	for _, f := range append([]string{cacheManifest}, shardFiles(c)...) {
		if fi, err := os.Stat(filepath.Join(c.Dir, f)); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func shardFiles(c *Cache) []string {
	out := make([]string, len(c.Manifest.Shards))
	for i, s := range c.Manifest.Shards {
		out[i] = s.File
	}
	return out
}

// ReadReconstructSummary reads the reconstruct.json a reconstruction pass writes; path is
// the file itself or the cache folder holding it. It returns the path read, for the
// report to name its source.
func ReadReconstructSummary(path string) (*ReconstructSummary, string, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "reconstruct.json")
	}
	var s ReconstructSummary
	if err := readJSON(path, &s); err != nil {
		return nil, path, fmt.Errorf("reconstruction summary: %w", err)
	}
	if len(s.Taps) == 0 {
		return nil, path, fmt.Errorf("reconstruction summary %s: field \"taps\" is empty (not a reconstruct.json of frpt reconstruct?)", path)
	}
	return &s, path, nil
}
