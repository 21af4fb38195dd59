package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/tensor"
)

// The feature cache is a folder holding one reconstruction pass over a training set:
//
//	manifest.json            what the cache is (model, weights hash, dataset, seed,
//	                         augmentation, tap shapes) and the list of finished shards
//	shard-000000.safetensors tensors "input" F32 [n,C,H,W], "label" I64 [n], "index" I64 [n]
//	                         (dataset index of each sample), "recons_<tap>" F32 [n,...]
//	                         and "gap_<tap>" F32 [n] (‖f − r‖/‖f‖ per sample, optional)
//
// Shards are written atomically, in order, and the manifest is rewritten atomically after
// each one, so a killed pass resumes at the first sample of the first shard the manifest
// does not list: nothing is lost or duplicated. Any safetensors reader (e.g. Python's)
// reads the shards; the manifest is plain JSON.
const (
	CacheFormat   = "frpt-cache/v1"
	cacheManifest = "manifest.json"
)

// CacheTap is one reconstructed feature stored in the cache, with its per-sample shape.
type CacheTap struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// CacheShard is one finished shard.
type CacheShard struct {
	File  string `json:"file"`
	Start int    `json:"start"` // position of its first sample in the pass
	Count int    `json:"count"`
}

// CacheManifest describes a feature cache (manifest.json).
type CacheManifest struct {
	Format        string       `json:"format"`
	Model         string       `json:"model"`
	Dataset       string       `json:"dataset"`
	Weights       string       `json:"weights"`
	WeightsSHA256 string       `json:"weights_sha256"`
	Seed          uint64       `json:"seed"`
	Augment       bool         `json:"augment"`
	Embedding     string       `json:"embedding"`
	ConvMethod    string       `json:"conv_method"`
	Input         []int        `json:"input"` // per-sample input shape
	Taps          []CacheTap   `json:"taps"`
	Total         int          `json:"total"` // samples in the full pass
	ShardSize     int          `json:"shard_size"`
	Shards        []CacheShard `json:"shards"`
	Complete      bool         `json:"complete"`
}

// Done is the number of samples in finished shards.
func (m *CacheManifest) Done() int {
	n := 0
	for _, s := range m.Shards {
		n += s.Count
	}
	return n
}

// jobDiffs lists the fields in which two manifests describe different reconstruction
// passes (the weights file's name, the shards and completion are not the job).
func (m *CacheManifest) jobDiffs(want *CacheManifest) []string {
	return fieldDiffs(*m, *want, "cache", "weights", "shards", "complete")
}

// FileSHA256 returns the hex SHA-256 of a file (used to tie a cache to its checkpoint).
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// CacheWriter appends shards to a feature cache.
type CacheWriter struct {
	dir string
	m   CacheManifest
}

// OpenCacheWriter starts the cache described by want in dir, or resumes it when dir
// already holds an unfinished cache of the same job. A cache of another job is refused
// (delete the folder or choose another one).
func OpenCacheWriter(dir string, want CacheManifest) (*CacheWriter, error) {
	want.Format = CacheFormat
	want.Shards, want.Complete = nil, false
	if want.ShardSize <= 0 {
		return nil, fmt.Errorf("cache %s: shard size must be positive", dir)
	}
	var have CacheManifest
	err := readJSON(filepath.Join(dir, cacheManifest), &have)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("cache %s: %w", dir, err)
		}
		w := &CacheWriter{dir: dir, m: want}
		return w, WriteJSON(filepath.Join(dir, cacheManifest), w.m)
	case err != nil:
		return nil, fmt.Errorf("cache %s: %w", dir, err)
	}
	if err := have.check(); err != nil {
		return nil, fmt.Errorf("cache %s: %s: %w", dir, cacheManifest, err)
	}
	if d := have.jobDiffs(&want); len(d) > 0 {
		return nil, fmt.Errorf("cache %s holds a different reconstruction: %s; remove it or choose another folder", dir, strings.Join(d, "; "))
	}
	for _, s := range have.Shards { // every listed shard must still be intact
		if _, err := checkShard(dir, &have, s); err != nil {
			return nil, err
		}
	}
	return &CacheWriter{dir: dir, m: have}, nil
}

// Manifest returns the writer's current manifest.
func (w *CacheWriter) Manifest() CacheManifest { return w.m }

// Next is the position in the pass of the first sample not yet stored.
func (w *CacheWriter) Next() int { return w.m.Done() }

// WriteShard stores the next len(labels) samples: inputs [n·prod(Input)], labels, their
// dataset indices and one slice per tap in manifest order.
func (w *CacheWriter) WriteShard(inputs []float32, labels, index []int, taps [][]float32) error {
	return w.WriteShardGaps(inputs, labels, index, taps, nil)
}

// WriteShardGaps is WriteShard that also stores each sample's relative gap
// ‖f − r‖/‖f‖ per tap as "gap_<tap>" F32 [n] (gaps in manifest tap order, or nil).
func (w *CacheWriter) WriteShardGaps(inputs []float32, labels, index []int, taps, gaps [][]float32) error {
	return w.writeShard(inputs, labels, index, taps, gaps, nil)
}

// writeShard is WriteShardGaps that also stores extra in the shard's metadata.
func (w *CacheWriter) writeShard(inputs []float32, labels, index []int, taps, gaps [][]float32, extra map[string]string) error {
	s, err := writeShardFile(w.dir, &w.m, len(w.m.Shards), w.m.Done(), inputs, labels, index, taps, gaps, extra)
	if err != nil {
		return err
	}
	w.m.Shards = append(w.m.Shards, s)
	return WriteJSON(filepath.Join(w.dir, cacheManifest), w.m)
}

// writeShardFile writes shard k of the cache described by m, holding the samples from
// position start of the pass on, with extra in its metadata, and returns its manifest entry.
func writeShardFile(dir string, m *CacheManifest, k, start int, inputs []float32, labels, index []int, taps, gaps [][]float32, extra map[string]string) (CacheShard, error) {
	n := len(labels)
	if n == 0 || len(index) != n || len(taps) != len(m.Taps) || len(inputs) != n*prod(m.Input) {
		return CacheShard{}, fmt.Errorf("cache %s: shard of %d labels, %d indices, %d inputs, %d taps does not fit the manifest", dir, n, len(index), len(inputs), len(taps))
	}
	name := fmt.Sprintf("shard-%06d.safetensors", k)
	lab, idx := make([]int64, n), make([]int64, n)
	for i := range labels {
		lab[i], idx[i] = int64(labels[i]), int64(index[i])
	}
	ts := []checkpoint.Tensor{
		checkpoint.FromFloat32("input", append([]int{n}, m.Input...), inputs),
		checkpoint.FromInt64("label", []int{n}, lab),
		checkpoint.FromInt64("index", []int{n}, idx),
	}
	for i, tp := range m.Taps {
		if len(taps[i]) != n*prod(tp.Shape) {
			return CacheShard{}, fmt.Errorf("cache %s: tap %s has %d values for %d samples of shape %v", dir, tp.Name, len(taps[i]), n, tp.Shape)
		}
		ts = append(ts, checkpoint.FromFloat32("recons_"+tp.Name, append([]int{n}, tp.Shape...), taps[i]))
		if gaps != nil {
			if len(gaps[i]) != n {
				return CacheShard{}, fmt.Errorf("cache %s: tap %s has %d gaps for %d samples", dir, tp.Name, len(gaps[i]), n)
			}
			ts = append(ts, checkpoint.FromFloat32("gap_"+tp.Name, []int{n}, gaps[i]))
		}
	}
	meta := map[string]string{"format": CacheFormat, "shard": strconv.Itoa(k), "start": strconv.Itoa(start), "model": m.Model, "dataset": m.Dataset}
	for key, v := range extra {
		meta[key] = v
	}
	if err := checkpoint.WriteTensors(filepath.Join(dir, name), ts, meta); err != nil {
		return CacheShard{}, err
	}
	return CacheShard{File: name, Start: start, Count: n}, nil
}

// Finish marks the cache complete.
func (w *CacheWriter) Finish() error {
	if w.m.Done() != w.m.Total {
		return fmt.Errorf("cache %s: %d of %d samples written", w.dir, w.m.Done(), w.m.Total)
	}
	w.m.Complete = true
	return WriteJSON(filepath.Join(w.dir, cacheManifest), w.m)
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// checkShard opens a listed shard and verifies its header against the manifest.
func checkShard(dir string, m *CacheManifest, s CacheShard) (*checkpoint.Reader, error) {
	path := filepath.Join(dir, s.File)
	r, err := checkpoint.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cache %s: shard %s: %w", dir, s.File, err)
	}
	// Checked in a fixed order, so that the first fault named is always the same one.
	type wantShape struct {
		name  string
		shape []int
	}
	want := []wantShape{{"input", append([]int{s.Count}, m.Input...)}, {"label", []int{s.Count}}, {"index", []int{s.Count}}}
	for _, tp := range m.Taps {
		want = append(want, wantShape{"recons_" + tp.Name, append([]int{s.Count}, tp.Shape...)})
		if _, ok := r.Lookup("gap_" + tp.Name); ok { // optional
			want = append(want, wantShape{"gap_" + tp.Name, []int{s.Count}})
		}
	}
	for _, ws := range want {
		name, shape := ws.name, ws.shape
		t, ok := r.Lookup(name)
		if !ok {
			r.Close()
			return nil, fmt.Errorf("cache %s: shard %s has no tensor %q", dir, s.File, name)
		}
		if !reflect.DeepEqual(t.Shape, shape) {
			r.Close()
			return nil, fmt.Errorf("cache %s: shard %s tensor %q has shape %v, manifest says %v", dir, s.File, name, t.Shape, shape)
		}
		if dt := shardDtype(name); t.Dtype != dt {
			r.Close()
			return nil, fmt.Errorf("cache %s: shard %s tensor %q has dtype %s, want %s", dir, s.File, name, t.Dtype, dt)
		}
	}
	return r, nil
}

// Cache is a finished feature cache opened for reading.
type Cache struct {
	Dir      string
	Manifest CacheManifest
}

// OpenCache opens a complete cache and validates every shard's header.
func OpenCache(dir string) (*Cache, error) {
	m, err := readCacheManifest(dir) // manifest.json, or the union of a split pass's parts
	if err != nil {
		return nil, fmt.Errorf("open cache %s: %w", dir, err)
	}
	if m.Format != CacheFormat {
		return nil, fmt.Errorf("open cache %s: format %q, want %q", dir, m.Format, CacheFormat)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("open cache %s: %s: %w", dir, cacheManifest, err)
	}
	if !m.Complete {
		return nil, fmt.Errorf("open cache %s: unfinished (%d of %d samples); rerun reconstruct to complete it", dir, m.Done(), m.Total)
	}
	for _, s := range m.Shards {
		r, err := checkShard(dir, &m, s)
		if err != nil {
			return nil, err
		}
		r.Close()
	}
	return &Cache{Dir: dir, Manifest: m}, nil
}

// Tap returns the manifest entry of a tap.
func (c *Cache) Tap(name string) (CacheTap, error) {
	for _, t := range c.Manifest.Taps {
		if t.Name == name {
			return t, nil
		}
	}
	names := make([]string, len(c.Manifest.Taps))
	for i, t := range c.Manifest.Taps {
		names[i] = t.Name
	}
	return CacheTap{}, fmt.Errorf("cache %s has no tap %q (it has %v)", c.Dir, name, names)
}

// CachedSet is the part of a cache post-training runs need, in memory: the inputs and
// labels once, and the reconstructed targets of the requested taps.
type CachedSet struct {
	Inputs  []float32
	Labels  []int
	Targets map[string][]float32 // per tap, samples in pass order
	Shapes  map[string][]int     // per-sample target shape per tap
	Input   []int                // per-sample input shape
	N       int
}

// batch gathers the inputs of the samples idx into x's storage, as an [n, C, H, W]
// tensor, and their labels into labels.
func (s *CachedSet) batch(idx []int, x []float32, labels []int) *tensor.T[float32] {
	for i, j := range idx {
		labels[i] = s.Labels[j]
	}
	size := prod(s.Input)
	x = x[:len(idx)*size]
	// The rows are scattered over the whole set (a cache miss each): spread the copies
	// over the workers.
	tensor.Parallel(len(idx), 32, func(lo, hi int) { gatherRows(x[lo*size:hi*size], s.Inputs, size, idx[lo:hi]) })
	return &tensor.T[float32]{Shape: append([]int{len(idx)}, s.Input...), Data: x}
}

// gatherRows copies the rows idx (size values each) of src into dst, in order, and returns
// dst[:len(idx)·size].
func gatherRows(dst, src []float32, size int, idx []int) []float32 {
	dst = dst[:len(idx)*size]
	for i, j := range idx {
		copy(dst[i*size:(i+1)*size], src[j*size:(j+1)*size])
	}
	return dst
}

// Load reads inputs, labels and the reconstructed targets of the given taps.
func (c *Cache) Load(taps ...string) (*CachedSet, error) {
	set := &CachedSet{Input: c.Manifest.Input, N: c.Manifest.Total, Targets: map[string][]float32{}, Shapes: map[string][]int{}}
	for _, tap := range taps {
		tp, err := c.Tap(tap)
		if err != nil {
			return nil, err
		}
		set.Shapes[tap] = tp.Shape
		set.Targets[tap] = make([]float32, 0, set.N*prod(tp.Shape))
	}
	set.Inputs = make([]float32, 0, set.N*prod(set.Input))
	set.Labels = make([]int, 0, set.N)
	for _, s := range c.Manifest.Shards {
		r, err := checkShard(c.Dir, &c.Manifest, s)
		if err != nil {
			return nil, err
		}
		err = func() error {
			defer r.Close()
			in, err := r.ReadTensor("input")
			if err != nil {
				return err
			}
			v, err := in.Float32s()
			if err != nil {
				return err
			}
			set.Inputs = append(set.Inputs, v...)
			lt, err := r.ReadTensor("label")
			if err != nil {
				return err
			}
			lv, err := lt.Int64s()
			if err != nil {
				return err
			}
			k := c.Manifest.classes()
			for i, l := range lv {
				if l < 0 || (k > 0 && l >= int64(k)) {
					return fmt.Errorf("sample %d: label %d outside [0, %d)", s.Start+i, l, k)
				}
				set.Labels = append(set.Labels, int(l))
			}
			for _, tap := range taps {
				tt, err := r.ReadTensor("recons_" + tap)
				if err != nil {
					return err
				}
				tv, err := tt.Float32s()
				if err != nil {
					return err
				}
				set.Targets[tap] = append(set.Targets[tap], tv...)
			}
			return nil
		}()
		if err != nil {
			return nil, fmt.Errorf("cache %s: shard %s: %w", c.Dir, s.File, err)
		}
	}
	if len(set.Labels) != set.N {
		return nil, fmt.Errorf("cache %s: shards hold %d samples, manifest says %d", c.Dir, len(set.Labels), set.N)
	}
	return set, nil
}
