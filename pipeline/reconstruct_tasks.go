package pipeline

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/frpt/frpt/task"
)

const reconstructSummary = "reconstruct.json"

// describeTodo prints which share of the pass this process does and what is left of it,
// and returns the number of samples left.
func describeTodo(w io.Writer, cfg ReconstructConfig, sink shardSink, todo []sampleSpan, total int) int {
	left := 0
	for _, s := range todo {
		left += s.Hi - s.Lo
	}
	tw, split := sink.(*cacheTaskWriter)
	if !split {
		if left > 0 && left < total {
			fmt.Fprintf(w, "resuming %s at sample %d of %d\n", cfg.OutDir, total-left, total)
		}
		return left
	}
	p := &tw.part
	lo, hi := p.FirstShard*p.ShardSize, min(p.EndShard*p.ShardSize, p.Total)
	fmt.Fprintf(w, "%s: shards %d–%d of %d (samples %d–%d of %d) into %s; %d samples to do\n",
		tw.t.Describe(), p.FirstShard, p.EndShard-1, shardCount(&p.CacheManifest), lo, max(hi-1, lo), p.Total, cfg.OutDir, left)
	return left
}

// writeSummaries fills in the gap statistics of the samples this process is responsible
// for (the whole cache, or a task's block) and writes the summary: reconstruct.json, or a
// task's reconstruct.task-IIII-of-NNNN.json plus, from the task that merged the cache,
// reconstruct.json over the whole cache.
func writeSummaries(cfg ReconstructConfig, sink shardSink, sum *ReconstructSummary, taps []CacheTap) error {
	tw, split := sink.(*cacheTaskWriter)
	c := &Cache{Dir: cfg.OutDir}
	if split {
		c.Manifest = tw.block()
		sum.Task, sum.Samples = tw.t.String(), c.Manifest.Done()
	} else {
		var err error
		if c, err = OpenCache(cfg.OutDir); err != nil {
			return err
		}
	}
	if err := fillGapStats(c, sum, taps); err != nil {
		return err
	}
	sum.CacheBytes = cacheBytes(c)
	path := filepath.Join(cfg.OutDir, reconstructSummary)
	if !split {
		return WriteJSON(path, sum)
	}
	if err := WriteJSON(tw.t.File(path), sum); err != nil {
		return err
	}
	if err := tw.complete(); err != nil || !tw.merged {
		return err
	}
	return writeMergedSummary(cfg.OutDir, taps)
}

// fillGapStats sets sum.Taps from the per-sample gaps and the diagnostics stored in c's
// shards.
func fillGapStats(c *Cache, sum *ReconstructSummary, taps []CacheTap) error {
	methods, fallbacks, err := shardDiags(c)
	if err != nil {
		return err
	}
	sum.Taps = sum.Taps[:0]
	for _, tp := range taps {
		g, err := c.Gaps(tp.Name)
		if err != nil {
			return err
		}
		st := gapStats(g)
		st.Tap, st.Method, st.Fallbacks = tp.Name, methods[tp.Name], fallbacks[tp.Name]
		sum.Taps = append(sum.Taps, st)
	}
	return nil
}

// writeMergedSummary writes reconstruct.json of a cache whose tasks have all finished:
// gap statistics and Tikhonov fallbacks over the whole cache's shards; new samples summed
// over the tasks' summaries; seconds of the longest task (the wall time when they ran at once),
// images/s over that time and compute images/s summed over the tasks.
func writeMergedSummary(dir string, taps []CacheTap) error {
	c, err := OpenCache(dir)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, reconstructSummary)
	files, err := task.Files(path)
	if err != nil {
		return err
	}
	m := c.Manifest
	sum := &ReconstructSummary{Model: m.Model, Dataset: m.Dataset, Weights: m.Weights, WeightsSHA256: m.WeightsSHA256, Samples: m.Total}
	for _, f := range files {
		var ts ReconstructSummary
		if err := readJSON(f, &ts); err != nil {
			return fmt.Errorf("merge %s: %w", path, err)
		}
		sum.Weights = ts.Weights
		sum.NewSamples += ts.NewSamples
		sum.Seconds = max(sum.Seconds, ts.Seconds)
		sum.ComputePerS += ts.ComputePerS
	}
	if sum.Seconds > 0 {
		sum.ImagesPerSec = float64(sum.NewSamples) / sum.Seconds
	}
	if err := fillGapStats(c, sum, taps); err != nil {
		return err
	}
	sum.CacheBytes = cacheBytes(c)
	return WriteJSON(path, sum)
}
