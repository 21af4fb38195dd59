package tensor

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Parallel covers [0, n) exactly once with 1 to 4 Workers, from concurrent callers and
// from inside its own ranges (nested calls find the helpers busy and fall back to fresh
// goroutines), and still works after its helpers have parked.
func TestParallelCoversOnce(t *testing.T) {
	defer func(w int) { Workers = w }(Workers)
	check := func(n, grain int) {
		hits := make([]atomic.Int32, n)
		Parallel(n, grain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				hits[i].Add(1)
			}
		})
		for i := range hits {
			if v := hits[i].Load(); v != 1 {
				t.Errorf("Workers %d, n %d, grain %d: index %d run %d times", Workers, n, grain, i, v)
				return
			}
		}
	}
	for _, w := range []int{1, 2, 3, 4} {
		Workers = w
		for _, n := range []int{0, 1, 2, 3, 7, 100} {
			for _, grain := range []int{0, 1, 5} {
				check(n, grain)
			}
		}
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := 0; r < 50; r++ {
					Parallel(8, 1, func(lo, hi int) { check(13, 1) })
				}
			}()
		}
		wg.Wait()
		time.Sleep(2 * helperSpin) // helpers park
		check(10, 1)
	}
}

// A helper's wake-up: the time from Parallel's call to its second range starting, after
// a pause shorter than helperSpin (the helper is still polling) and after a longer one
// (it has parked).
func BenchmarkParallelWake(b *testing.B) {
	if Workers < 2 {
		b.Skip("one worker: Parallel runs everything on the caller")
	}
	for _, pause := range []time.Duration{helperSpin / 4, 4 * helperSpin} {
		b.Run("pause="+pause.String(), func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				for t0 := time.Now(); time.Since(t0) < pause; {
				}
				start := time.Now()
				var second time.Time
				Parallel(2, 1, func(lo, hi int) {
					if lo == 1 {
						second = time.Now()
					}
				})
				total += second.Sub(start)
			}
			b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns-to-second-range")
		})
	}
}
