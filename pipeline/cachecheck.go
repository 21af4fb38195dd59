package pipeline

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/data"
)

// Checks of a feature cache read from disk (the manifest is plain JSON anyone may edit,
// shards are files a crash or a copy may have cut): everything that later sizes a buffer
// or indexes an array is checked against the files first, and each error names the field
// or shard at fault.

// maxCacheElems bounds the elements of one sample's input or tap (2³¹: far beyond any
// model here; it keeps products of shapes from overflowing).
const maxCacheElems = 1 << 31

// checkShape checks a per-sample shape of the manifest.
func checkShape(what string, shape []int) error {
	if len(shape) < 1 || len(shape) > 8 {
		return fmt.Errorf("%s shape %v: want 1 to 8 dimensions", what, shape)
	}
	n := 1
	for _, d := range shape {
		if d < 1 || d > maxCacheElems || n > maxCacheElems/d {
			return fmt.Errorf("%s shape %v: want positive dimensions of at most %d elements in all", what, shape, maxCacheElems)
		}
		n *= d
	}
	return nil
}

// check verifies that a manifest is consistent in itself: shapes, tap names, and shards
// that are plain file names in the cache folder, each starting where the one before ended,
// together no more than Total samples (exactly Total when Complete).
func (m *CacheManifest) check() error {
	if err := checkShape("input", m.Input); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, t := range m.Taps {
		if t.Name == "" || seen[t.Name] {
			return fmt.Errorf("taps: name %q is empty or given twice", t.Name)
		}
		seen[t.Name] = true
		if err := checkShape("tap "+t.Name, t.Shape); err != nil {
			return err
		}
	}
	if m.Total < 0 || m.ShardSize < 1 {
		return fmt.Errorf("total %d and shard_size %d: want total ≥ 0 and shard_size ≥ 1", m.Total, m.ShardSize)
	}
	files := map[string]bool{}
	pos := 0
	for i, s := range m.Shards {
		if s.File != filepath.Base(s.File) || strings.ContainsAny(s.File, `/\`) || !strings.HasSuffix(s.File, ".safetensors") || files[s.File] {
			return fmt.Errorf("shard %d: file %q: want a .safetensors file name in the cache folder, listed once", i, s.File)
		}
		files[s.File] = true
		if s.Start != pos || s.Count < 1 || s.Count > m.Total-pos {
			return fmt.Errorf("shard %d (%s): start %d, count %d: want start %d and 1 to %d samples (total %d)", i, s.File, s.Start, s.Count, pos, m.Total-pos, m.Total)
		}
		pos += s.Count
	}
	if m.Complete && pos != m.Total {
		return fmt.Errorf("complete, but the shards hold %d of %d samples", pos, m.Total)
	}
	return nil
}

// shardDtypes are the dtypes of a shard's tensors by name prefix.
func shardDtype(name string) checkpoint.Dtype {
	if name == "label" || name == "index" {
		return checkpoint.I64
	}
	return checkpoint.F32
}

// classes is the number of classes a cache's labels must lie below: the length of its
// out tap, or the dataset's (0: unknown, not checked).
func (m *CacheManifest) classes() int {
	for _, t := range m.Taps {
		if t.Name == "out" && len(t.Shape) == 1 {
			return t.Shape[0]
		}
	}
	k, _ := data.NumClasses(m.Dataset)
	return k
}
