package pipeline

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/frpt/frpt/tensor"
)

// runPool runs the jobs of a resumable grid with workers concurrent runs (each run
// single-threaded: tensor.Workers is 1 while they run). Every finished result is added to
// done and the whole list is rewritten atomically to the JSON-lines file results, so an
// interrupted grid loses at most the runs in flight; describe prints one progress line per
// finished run. The first error stops handing out jobs; it is returned with the results
// recorded so far.
func runPool[J, R any](ctx context.Context, workers int, results string, todo []J, done []R,
	run func(J) (*R, error), describe func(J, *R) string, w io.Writer) ([]R, error) {
	workers = max(workers, 1)
	if workers > 1 {
		old := tensor.Workers
		tensor.Workers = 1 // runs are the parallel unit
		defer func() { tensor.Workers = old }()
	}
	total := len(done) + len(todo)
	jobs := make(chan J)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				r, err := run(job)
				mu.Lock()
				if err == nil {
					next := append(slices.Clip(done), *r)
					if err = writeJSONLines(results, next); err == nil {
						done = next
						fmt.Fprintf(w, "[%d/%d] %s\n", len(done), total, describe(job, r))
					}
				}
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, job := range todo {
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		jobs <- job
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return done, firstErr
	}
	return done, ctx.Err()
}
