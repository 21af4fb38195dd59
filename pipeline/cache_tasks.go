package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/frpt/frpt/task"
)

// A feature cache built by several tasks (frpt reconstruct --task I/N, the elements of a
// Slurm array, the pods of an Indexed Job), all writing into one shared folder:
//
//	manifest.task-IIII-of-NNNN.json  task I's part: the manifest's header, the task's
//	                                 block of shards [first_shard, end_shard) and the
//	                                 shards of it that are on disk ("complete" once all are)
//	shard-KKKKKK.safetensors         shard K holds the samples [K·shard_size, …) of the
//	                                 pass, whichever task wrote it
//	manifest.json                    the merged manifest, as a one-process pass writes it
//
// The K = ⌈total/shard_size⌉ shards are cut into N contiguous blocks (task.Block). Task I
// writes only the shard files of its block and its own part, each atomically (temporary
// file + rename), so no two tasks ever write the same file. A task killed and rerun
// resumes its block at the first shard no manifest lists. A task that finishes its block
// and finds every shard of the pass listed in some manifest (its part, another task's, or
// an older manifest.json) merges them into manifest.json, complete, atomically: the last
// task to finish does it (two that finish together write the same bytes). From then on
// the cache is one cache for frpt and for any reader of manifest.json; frpt's readers also
// accept a folder whose parts cover the pass but whose manifest.json is missing.

// cachePart is one task's manifest part.
type cachePart struct {
	CacheManifest
	Task       int `json:"task"`
	Tasks      int `json:"tasks"`
	FirstShard int `json:"first_shard"`
	EndShard   int `json:"end_shard"` // exclusive
}

// sampleSpan is the pass positions [Lo, Hi) of a run of whole shards.
type sampleSpan struct{ Lo, Hi int }

// shardSink is where a reconstruction pass stores its shards, in the order of Todo: the
// one-process CacheWriter or a task's cacheTaskWriter.
type shardSink interface {
	// Todo lists the samples still to reconstruct, as runs of whole shards in order.
	Todo() []sampleSpan
	// writeShard stores the next shard of Todo with extra in its metadata.
	writeShard(inputs []float32, labels, index []int, taps, gaps [][]float32, extra map[string]string) error
	Finish() error
}

// Todo is the rest of the pass after the shards already listed.
func (w *CacheWriter) Todo() []sampleSpan {
	if n := w.Next(); n < w.m.Total {
		return []sampleSpan{{n, w.m.Total}}
	}
	return nil
}

// shardCount is the number of shards of the pass described by m.
func shardCount(m *CacheManifest) int {
	if m.ShardSize <= 0 {
		return 0
	}
	return (m.Total + m.ShardSize - 1) / m.ShardSize
}

// shardEntry is the manifest entry shard k must have.
func shardEntry(m *CacheManifest, k int) CacheShard {
	lo := k * m.ShardSize
	return CacheShard{File: fmt.Sprintf("shard-%06d.safetensors", k), Start: lo, Count: min(m.ShardSize, m.Total-lo)}
}

// cacheListing is what the manifests in a cache folder say: the shards listed by any of
// them, by position in the pass, and the files that list them.
type cacheListing struct {
	header *CacheManifest     // the job, from want or the first manifest read
	shards map[int]CacheShard // shard index → entry
	main   *CacheManifest     // manifest.json, if present
	parts  []*cachePart       // the task parts
	files  []string           // every manifest read, in reading order
}

// partFiles lists the task parts in dir.
func partFiles(dir string) ([]string, error) {
	return task.Files(filepath.Join(dir, cacheManifest))
}

// listCache reads manifest.json and every part in dir. Each must describe the same job as
// want (or, when want is nil, as the first one read); a shard listed anywhere must have
// the entry its position gives it.
func listCache(dir string, want *CacheManifest) (*cacheListing, error) {
	l := &cacheListing{header: want, shards: map[int]CacheShard{}}
	add := func(file string, m *CacheManifest) error {
		if l.header == nil {
			l.header = m
		}
		if d := m.jobDiffs(l.header); len(d) > 0 {
			return fmt.Errorf("cache %s: %s holds a different reconstruction: %s; remove it or choose another folder", dir, file, strings.Join(d, "; "))
		}
		l.files = append(l.files, file)
		for _, s := range m.Shards {
			k := -1
			if m.ShardSize > 0 && s.Start%m.ShardSize == 0 {
				k = s.Start / m.ShardSize
			}
			if k < 0 || k >= shardCount(m) || s != shardEntry(m, k) {
				return fmt.Errorf("cache %s: %s lists shard %s at samples %d+%d, which is not a shard of this pass", dir, file, s.File, s.Start, s.Count)
			}
			l.shards[k] = s
		}
		return nil
	}
	var main CacheManifest
	switch err := readJSON(filepath.Join(dir, cacheManifest), &main); {
	case err == nil:
		l.main = &main
		if err := add(cacheManifest, &main); err != nil {
			return nil, err
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("cache %s: %w", dir, err)
	}
	names, err := partFiles(dir)
	if err != nil {
		return nil, err
	}
	for _, path := range names {
		p := &cachePart{}
		if err := readJSON(path, p); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("cache %s: %w", dir, err)
		}
		l.parts = append(l.parts, p)
		if err := add(filepath.Base(path), &p.CacheManifest); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// missing lists the shards of the pass no manifest lists, as index ranges "a–b".
func (l *cacheListing) missing() []string {
	var out []string
	n := shardCount(l.header)
	for k := 0; k < n; k++ {
		if _, ok := l.shards[k]; ok {
			continue
		}
		e := k
		for e+1 < n {
			if _, ok := l.shards[e+1]; ok {
				break
			}
			e++
		}
		if e == k {
			out = append(out, fmt.Sprint(k))
		} else {
			out = append(out, fmt.Sprintf("%d–%d", k, e))
		}
		k = e
	}
	return out
}

// merged is the complete manifest of the union (ok false while shards are missing).
func (l *cacheListing) merged() (CacheManifest, bool) {
	m := *l.header
	m.Shards, m.Complete = nil, false
	n := shardCount(&m)
	for k := 0; k < n; k++ {
		s, ok := l.shards[k]
		if !ok {
			return m, false
		}
		m.Shards = append(m.Shards, s)
	}
	m.Format, m.Complete = CacheFormat, true
	return m, true
}

// readCacheManifest returns the manifest of the cache in dir: manifest.json when it is
// complete, else the union of manifest.json and the task parts when they cover the pass.
// A folder without parts gives manifest.json as it is (the caller refuses an unfinished
// one); one whose parts do not cover the pass is an error naming the missing shards.
func readCacheManifest(dir string) (CacheManifest, error) {
	var m CacheManifest
	err := readJSON(filepath.Join(dir, cacheManifest), &m)
	if (err == nil && m.Complete) || (err != nil && !errors.Is(err, os.ErrNotExist)) {
		return m, err
	}
	parts, perr := partFiles(dir)
	if perr != nil {
		return m, perr
	}
	if len(parts) == 0 {
		return m, err
	}
	l, lerr := listCache(dir, nil)
	if lerr != nil {
		return m, lerr
	}
	u, ok := l.merged()
	if !ok {
		return m, fmt.Errorf("unfinished: the tasks' manifests (%s) list %d of %d shards; missing shards: %s (rerun the tasks whose blocks hold them)",
			strings.Join(l.files, ", "), len(l.shards), shardCount(l.header), strings.Join(l.missing(), ", "))
	}
	return u, nil
}

// cacheTaskWriter writes one task's block of shards into a shared cache folder.
type cacheTaskWriter struct {
	dir    string
	t      task.Task
	part   cachePart
	file   string // the part's path
	todo   []int  // shard indices still to write, in order
	merged bool   // Finish wrote the complete manifest.json
}

// openCacheTaskWriter starts or resumes task t's block of the pass described by want.
// Shards of the block that any manifest in dir lists are verified and kept.
func openCacheTaskWriter(dir string, want CacheManifest, t task.Task) (*cacheTaskWriter, error) {
	want.Format = CacheFormat
	want.Shards, want.Complete = nil, false
	if want.ShardSize <= 0 {
		return nil, fmt.Errorf("cache %s: shard size must be positive", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cache %s: %w", dir, err)
	}
	l, err := listCache(dir, &want)
	if err != nil {
		return nil, err
	}
	t.Count = max(t.Count, 1)
	first, end := t.Block(shardCount(&want))
	w := &cacheTaskWriter{dir: dir, t: t, file: filepath.Join(dir, "manifest."+t.Tag()+".json"),
		part: cachePart{CacheManifest: want, Task: t.Index, Tasks: t.Count, FirstShard: first, EndShard: end}}
	for k := first; k < end; k++ {
		s, ok := l.shards[k]
		if !ok {
			w.todo = append(w.todo, k)
			continue
		}
		r, err := checkShard(dir, &want, s) // a listed shard must still be intact
		if err != nil {
			return nil, err
		}
		r.Close()
		w.part.Shards = append(w.part.Shards, s)
	}
	return w, WriteJSON(w.file, w.part)
}

// Todo lists the block's missing shards as runs of consecutive shards.
func (w *cacheTaskWriter) Todo() []sampleSpan {
	var out []sampleSpan
	for _, k := range w.todo {
		e := shardEntry(&w.part.CacheManifest, k)
		if n := len(out); n > 0 && out[n-1].Hi == e.Start {
			out[n-1].Hi = e.Start + e.Count
		} else {
			out = append(out, sampleSpan{e.Start, e.Start + e.Count})
		}
	}
	return out
}

// writeShard writes the next missing shard of the block and lists it in the part.
func (w *cacheTaskWriter) writeShard(inputs []float32, labels, index []int, taps, gaps [][]float32, extra map[string]string) error {
	if len(w.todo) == 0 {
		return fmt.Errorf("cache %s: %s has no shard left to write", w.dir, w.t)
	}
	m := &w.part.CacheManifest
	k := w.todo[0]
	e := shardEntry(m, k)
	if len(labels) != e.Count {
		return fmt.Errorf("cache %s: shard %d needs %d samples, got %d", w.dir, k, e.Count, len(labels))
	}
	s, err := writeShardFile(w.dir, m, k, e.Start, inputs, labels, index, taps, gaps, extra)
	if err != nil {
		return err
	}
	w.todo = w.todo[1:]
	m.Shards = append(m.Shards, s)
	slices.SortFunc(m.Shards, func(a, b CacheShard) int { return a.Start - b.Start })
	return WriteJSON(w.file, w.part)
}

// Finish checks that the block is written. The part is marked complete by complete,
// after the task's summary is on disk (writeSummaries), so that the task that merges sees
// every summary.
func (w *cacheTaskWriter) Finish() error {
	if len(w.todo) > 0 {
		return fmt.Errorf("cache %s: %s has %d shards of its block left to write", w.dir, w.t, len(w.todo))
	}
	return nil
}

// complete marks the part complete and, when every shard of the pass is listed somewhere
// and every part of this task count is complete, merges the manifests into a complete
// manifest.json (w.merged).
func (w *cacheTaskWriter) complete() error {
	w.part.Complete = true
	if err := WriteJSON(w.file, w.part); err != nil {
		return err
	}
	l, err := listCache(w.dir, &w.part.CacheManifest)
	if err != nil {
		return err
	}
	m, ok := l.merged()
	if !ok {
		return nil
	}
	for _, p := range l.parts {
		if p.Tasks == w.t.Count && !p.Complete {
			return nil // that task is finishing; it merges
		}
	}
	if l.main != nil && l.main.Complete && slices.Equal(l.main.Shards, m.Shards) {
		w.merged = true // already merged (by another task, or a finished one-process pass)
		return nil
	}
	if err := WriteJSON(filepath.Join(w.dir, cacheManifest), m); err != nil {
		return err
	}
	w.merged = true
	return nil
}

// block is the manifest of the task's block alone (for its gap statistics).
func (w *cacheTaskWriter) block() CacheManifest {
	m := w.part.CacheManifest
	m.Shards = slices.Clone(m.Shards)
	return m
}

// openShardSink opens where a pass stores its shards: the one-process writer, or task t's
// part writer when the pass is split or the folder already holds task parts (a whole pass
// then finishes what the tasks left as task 0/1).
func openShardSink(dir string, want CacheManifest, t task.Task) (shardSink, error) {
	if !t.Split() {
		parts, err := partFiles(dir)
		if err != nil {
			return nil, err
		}
		if len(parts) == 0 {
			return OpenCacheWriter(dir, want)
		}
	}
	return openCacheTaskWriter(dir, want, t)
}
