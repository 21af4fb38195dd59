package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Workers is the number of goroutines kernels split large work across. It defaults to
// GOMAXPROCS and may be lowered (e.g. to 1 inside worker pools that parallelise outside).
var Workers = runtime.GOMAXPROCS(0)

// Parallel calls fn on disjoint ranges [lo, hi) covering [0, n). Work smaller than grain
// items per worker runs on the calling goroutine.
//
// The ranges after the first go to helper goroutines that stay alive between calls and
// poll for work for helperSpin after their last range before they park: a parked
// goroutine took 7–24 µs to wake on the 2-core VMs here, which a training step of the
// small models, with dozens of parallel passes of a few hundred microseconds, would pay
// on every pass. A range whose helper is busy (a nested or concurrent Parallel) runs on
// a fresh goroutine instead.
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
	c := new(call)
	chunk := (n + w - 1) / w
	h := 0
	for lo := chunk; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		c.pending.Add(1)
		c.wg.Add(1)
		if !helperFor(h).give(fn, lo, hi, c) {
			go func(lo, hi int) {
				fn(lo, hi)
				c.finish()
			}(lo, hi)
		}
		h++
	}
	fn(0, min(chunk, n))
	// Poll before blocking: a goroutine blocked in Wait is woken as late as a parked
	// helper, and the helper's core would hold it in its run queue while it polls.
	for i := 0; c.pending.Load() > 0 && i < 1000; i++ {
		runtime.Gosched()
	}
	c.wg.Wait()
}

// call is one Parallel call's count of ranges still running.
type call struct {
	pending atomic.Int32
	wg      sync.WaitGroup
}

func (c *call) finish() {
	c.pending.Add(-1)
	c.wg.Done()
}

// helperSpin is how long a helper polls for its next range before it parks.
const helperSpin = 100 * time.Microsecond

// helper is a goroutine that runs the ranges Parallel gives it.
type helper struct {
	busy   atomic.Bool   // claimed by a Parallel call, until its range is done
	ready  atomic.Bool   // a range is waiting in fn, lo, hi, c
	parked atomic.Bool   // the goroutine is (about to be) blocked on wake
	wake   chan struct{} // one token wakes a parked goroutine
	fn     func(lo, hi int)
	lo, hi int
	c      *call
}

var (
	helpersMu sync.Mutex
	helpers   atomic.Pointer[[]*helper]
)

// helperFor returns helper i, starting helpers up to it on first use.
func helperFor(i int) *helper {
	if hs := helpers.Load(); hs != nil && i < len(*hs) {
		return (*hs)[i]
	}
	helpersMu.Lock()
	defer helpersMu.Unlock()
	var hs []*helper
	if p := helpers.Load(); p != nil {
		hs = append(hs, *p...)
	}
	for len(hs) <= i {
		h := &helper{wake: make(chan struct{}, 1)}
		go h.run()
		hs = append(hs, h)
	}
	helpers.Store(&hs)
	return hs[i]
}

// give hands [lo, hi) to the helper unless another call holds it.
func (h *helper) give(fn func(lo, hi int), lo, hi int, c *call) bool {
	if !h.busy.CompareAndSwap(false, true) {
		return false
	}
	h.fn, h.lo, h.hi, h.c = fn, lo, hi, c
	h.ready.Store(true)
	if h.parked.Load() {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// run polls for ranges, parking after helperSpin without one. The store to parked
// before the last look at ready, and give's store to ready before its look at parked,
// make sure that a range is never left with its helper asleep.
func (h *helper) run() {
	for {
		for start, i := time.Now(), 0; !h.ready.Load(); i++ {
			if i&63 != 63 {
				continue
			}
			runtime.Gosched() // let goroutines queued on this core run
			if time.Since(start) < helperSpin {
				continue
			}
			h.parked.Store(true)
			if !h.ready.Load() {
				<-h.wake
			}
			h.parked.Store(false)
			start = time.Now()
		}
		h.ready.Store(false)
		fn, lo, hi, c := h.fn, h.lo, h.hi, h.c
		h.fn, h.c = nil, nil
		fn(lo, hi)
		h.busy.Store(false)
		c.finish()
	}
}
