package reverse

import "sync"

// scratchList keeps idle per-goroutine scratch spaces of a solver plan for reuse. Unlike
// sync.Pool it is not emptied by the garbage collector, so the plans' buffers are made
// once per concurrent caller and reused by every later call.
type scratchList[T any] struct {
	mu   sync.Mutex
	free []*T
}

// get returns an idle scratch space, or a new one from newT when there is none.
func (l *scratchList[T]) get(newT func() *T) *T {
	l.mu.Lock()
	if k := len(l.free); k > 0 {
		x := l.free[k-1]
		l.free[k-1] = nil
		l.free = l.free[:k-1]
		l.mu.Unlock()
		return x
	}
	l.mu.Unlock()
	return newT()
}

// put gives x back for a later get.
func (l *scratchList[T]) put(x *T) {
	l.mu.Lock()
	l.free = append(l.free, x)
	l.mu.Unlock()
}
