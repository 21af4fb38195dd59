package tensor

import (
	"runtime"
	"sync"
)

// Workers is the number of goroutines kernels split large work across. It defaults to
// GOMAXPROCS and may be lowered (e.g. to 1 inside worker pools that parallelise outside).
var Workers = runtime.GOMAXPROCS(0)

// Parallel calls fn on disjoint ranges [lo, hi) covering [0, n). Work smaller than grain
// items per worker runs on the calling goroutine.
func Parallel(n, grain int, fn func(lo, hi int)) {
	w := Workers
	if grain < 1 {
		grain = 1
	}
	if m := n / grain; m < w {
		w = m
	}
	if w <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (n + w - 1) / w
	for lo := chunk; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, hi)
	}
	fn(0, min(chunk, n))
	wg.Wait()
}
