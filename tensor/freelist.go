package tensor

import "sync"

// freeList keeps scratch objects for reuse. Unlike sync.Pool it is not emptied by the
// garbage collector, so the kernels' scratch buffers (column matrices, GEMM pack blocks)
// are allocated once and reused by every later training step instead of being
// reallocated after each GC cycle. It holds at most freeListCap objects; extra ones are
// dropped.
type freeList[T any] struct {
	mu    sync.Mutex
	items []T
}

const freeListCap = 32

// Get returns a kept object, or the zero T and false when there is none.
func (l *freeList[T]) Get() (T, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var zero T
	if len(l.items) == 0 {
		return zero, false
	}
	x := l.items[len(l.items)-1]
	l.items[len(l.items)-1] = zero
	l.items = l.items[:len(l.items)-1]
	return x, true
}

// Put keeps x for a later Get.
func (l *freeList[T]) Put(x T) {
	l.mu.Lock()
	if len(l.items) < freeListCap {
		l.items = append(l.items, x)
	}
	l.mu.Unlock()
}

// sliceList is a freeList of slices that hands out the smallest kept slice that is large
// enough (so layers of different sizes do not evict each other's buffers).
type sliceList[F any] struct {
	mu    sync.Mutex
	items [][]F
}

// get returns a slice of length n, reused when one large enough is kept. Its contents are
// arbitrary.
func (l *sliceList[F]) get(n int) []F {
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

// put keeps b; when the list is full the smallest kept slice makes room for a larger b.
func (l *sliceList[F]) put(b []F) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.items) < freeListCap {
		l.items = append(l.items, b)
		return
	}
	small := 0
	for i, x := range l.items {
		if cap(x) < cap(l.items[small]) {
			small = i
		}
	}
	if cap(b) > cap(l.items[small]) {
		l.items[small] = b
	}
}

// BufPool keeps float32 and float64 scratch slices for reuse, handing out the smallest
// kept slice that is large enough; its zero value is ready to use. Unlike sync.Pool it
// is not emptied by the garbage collector. The kernels of this package keep theirs in
// one pool; package nn keeps released layer gradients in another.
type BufPool struct {
	f32 sliceList[float32]
	f64 sliceList[float64]
}

// PoolGet returns a slice of n elements (arbitrary contents) from p, reused when p keeps
// one large enough.
func PoolGet[F Float](p *BufPool, n int) []F {
	var b any
	switch any(F(0)).(type) {
	case float32:
		b = p.f32.get(n)
	default:
		b = p.f64.get(n)
	}
	return b.([]F)
}

// PoolPut gives b back to p; the caller must not use it afterwards.
func PoolPut[F Float](p *BufPool, b []F) {
	switch v := any(b).(type) {
	case []float32:
		p.f32.put(v)
	case []float64:
		p.f64.put(v)
	}
}

// kernelScratch holds the scratch buffers of this package's kernels.
var kernelScratch BufPool

// getBuf returns a kernel scratch slice of n elements (arbitrary contents).
func getBuf[F Float](n int) []F { return PoolGet[F](&kernelScratch, n) }

// putBuf returns a slice obtained from getBuf.
func putBuf[F Float](b []F) { PoolPut(&kernelScratch, b) }
