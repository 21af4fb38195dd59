package nn

import "github.com/frpt/frpt/tensor"

// Input-gradient buffers are needed only until the layer below has consumed them. A model
// that knows this (a transformer block backpropagating through its MLP and attention)
// hands them back with ReleaseGrad, and the next Backward of any layer takes one from
// this free list instead of keeping its own: the backward pass of a deep model then holds
// the gradient buffers of one block, not of every block. Layers whose gradient is never
// released keep theirs between steps, as before.

// gradScratch holds the released input-gradient buffers.
var gradScratch tensor.BufPool

// getScratch returns a buffer of n elements (arbitrary contents) from the free list.
func getScratch[F tensor.Float](n int) []F { return tensor.PoolGet[F](&gradScratch, n) }

// putScratch returns a buffer to the free list; the caller must not use it afterwards.
func putScratch[F tensor.Float](b []F) { tensor.PoolPut(&gradScratch, b) }

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
