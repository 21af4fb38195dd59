package nn

import (
	"sync"

	"github.com/frpt/frpt/tensor"
)

// Input-gradient buffers are needed only until the layer below has consumed them. A model
// that knows this (a transformer block backpropagating through its MLP and attention)
// hands them back with ReleaseGrad, and the next Backward of any layer takes one from
// this free list instead of keeping its own: the backward pass of a deep model then holds
// the gradient buffers of one block, not of every block. Layers whose gradient is never
// released keep theirs between steps, as before.

// scratchList keeps released buffers for reuse; get hands out the smallest kept slice
// that is large enough. It holds at most scratchCap slices (more are dropped), which is
// far more than the buffers in flight at once (a few per concurrently training model).
type scratchList[F any] struct {
	mu    sync.Mutex
	items [][]F
}

const scratchCap = 32

// get returns a slice of length n (arbitrary contents), reused when one is kept.
func (l *scratchList[F]) get(n int) []F {
	l.mu.Lock()
	best := -1
	for i, b := range l.items {
		if cap(b) >= n && (best < 0 || cap(b) < cap(l.items[best])) {
			best = i
		}
	}
	if best < 0 {
		l.mu.Unlock()
		return make([]F, n)
	}
	b := l.items[best]
	last := len(l.items) - 1
	l.items[best] = l.items[last]
	l.items[last] = nil
	l.items = l.items[:last]
	l.mu.Unlock()
	return b[:n]
}

// put keeps b for a later get.
func (l *scratchList[F]) put(b []F) {
	l.mu.Lock()
	if len(l.items) < scratchCap {
		l.items = append(l.items, b[:cap(b)])
	}
	l.mu.Unlock()
}

var (
	gradScratch32 scratchList[float32]
	gradScratch64 scratchList[float64]
)

// getScratch returns a buffer of n elements (arbitrary contents) from the free list.
func getScratch[F tensor.Float](n int) []F {
	var b any
	switch any(F(0)).(type) {
	case float32:
		b = gradScratch32.get(n)
	default:
		b = gradScratch64.get(n)
	}
	return b.([]F)
}

// putScratch returns a buffer to the free list; the caller must not use it afterwards.
func putScratch[F tensor.Float](b []F) {
	switch v := any(b).(type) {
	case []float32:
		gradScratch32.put(v)
	case []float64:
		gradScratch64.put(v)
	}
}

// ensureGrad is tensor.Ensure for a layer's input-gradient buffer: a released (nil)
// buffer is taken from the free list. Its contents are arbitrary.
func ensureGrad[F tensor.Float](t *tensor.T[F], shape ...int) *tensor.T[F] {
	if t == nil {
		return tensor.FromData(getScratch[F](tensor.Numel(shape)), shape...)
	}
	return tensor.Ensure(t, shape...)
}

// releaseGrad hands *t's storage to the free list and clears *t.
func releaseGrad[F tensor.Float](t **tensor.T[F]) {
	if *t != nil {
		putScratch((*t).Data)
		*t = nil
	}
}
