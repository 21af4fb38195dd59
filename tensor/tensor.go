package tensor

import (
	"fmt"
	"math"
)

// Float is the element type of a tensor: float32 for models, float64 for gradient checks
// and solvers.
type Float interface{ ~float32 | ~float64 }

// T is a contiguous, row-major array of F.
type T[F Float] struct {
	Shape []int
	Data  []F
}

// New returns a zero-filled tensor of the given shape.
func New[F Float](shape ...int) *T[F] {
	n := Numel(shape)
	return &T[F]{Shape: append([]int(nil), shape...), Data: make([]F, n)}
}

// FromData wraps data (not copied) as a tensor of the given shape.
func FromData[F Float](data []F, shape ...int) *T[F] {
	if Numel(shape) != len(data) {
		panic(fmt.Sprintf("tensor.FromData: %d values do not fill shape %v", len(data), shape))
	}
	return &T[F]{Shape: append([]int(nil), shape...), Data: data}
}

// Numel is the number of elements of a shape.
func Numel(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return n
}

// Numel is the number of elements of t.
func (t *T[F]) Numel() int { return len(t.Data) }

// Dim returns dimension i of the shape; negative i counts from the end.
func (t *T[F]) Dim(i int) int {
	if i < 0 {
		i += len(t.Shape)
	}
	return t.Shape[i]
}

// Reshape returns a tensor sharing t's data with a new shape. One dimension may be -1.
func (t *T[F]) Reshape(shape ...int) *T[F] {
	s := append([]int(nil), shape...)
	infer, known := -1, 1
	for i, d := range s {
		if d == -1 {
			if infer >= 0 {
				panic(fmt.Sprintf("tensor.Reshape: two -1 in %v", shape))
			}
			infer = i
			continue
		}
		known *= d
	}
	if infer >= 0 {
		if known == 0 || len(t.Data)%known != 0 {
			panic(fmt.Sprintf("tensor.Reshape: cannot reshape %v to %v", t.Shape, shape))
		}
		s[infer] = len(t.Data) / known
	}
	if Numel(s) != len(t.Data) {
		panic(fmt.Sprintf("tensor.Reshape: cannot reshape %v to %v", t.Shape, shape))
	}
	return &T[F]{Shape: s, Data: t.Data}
}

// Clone returns a deep copy of t.
func (t *T[F]) Clone() *T[F] {
	return &T[F]{Shape: append([]int(nil), t.Shape...), Data: append([]F(nil), t.Data...)}
}

// Zero sets every element to 0.
func (t *T[F]) Zero() { clear(t.Data) }

// Fill sets every element to v.
func (t *T[F]) Fill(v F) {
	for i := range t.Data {
		t.Data[i] = v
	}
}

// SameShape reports whether a and b have equal shapes.
func SameShape[F, G Float](a *T[F], b *T[G]) bool {
	if len(a.Shape) != len(b.Shape) {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	return true
}

// MustSameShape panics naming op when a and b differ in shape.
func MustSameShape[F, G Float](op string, a *T[F], b *T[G]) {
	if !SameShape(a, b) {
		panic(fmt.Sprintf("%s: shape mismatch %v vs %v", op, a.Shape, b.Shape))
	}
}

// Ensure returns t if it already has the given shape, otherwise a new zeroed tensor of
// that shape. It lets layers reuse their output buffers across steps without allocating.
func Ensure[F Float](t *T[F], shape ...int) *T[F] {
	if t != nil && len(t.Shape) == len(shape) && cap(t.Data) >= Numel(shape) {
		same := true
		for i := range shape {
			if t.Shape[i] != shape[i] {
				same = false
				break
			}
		}
		if same {
			return t
		}
		t.Shape = append(t.Shape[:0], shape...)
		t.Data = t.Data[:Numel(shape)]
		return t
	}
	return New[F](shape...)
}

// Row returns row i of a tensor viewed as [Shape[0], rest] (shared data).
func (t *T[F]) Row(i int) []F {
	n := len(t.Data) / t.Shape[0]
	return t.Data[i*n : (i+1)*n]
}

// String prints the shape and a few values, for debugging.
func (t *T[F]) String() string {
	n := min(len(t.Data), 6)
	return fmt.Sprintf("T%v%v", t.Shape, t.Data[:n])
}

// AllFinite reports whether every element is finite.
func (t *T[F]) AllFinite() bool {
	for _, v := range t.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

// Convert returns a copy of t with elements of type G.
func Convert[G, F Float](t *T[F]) *T[G] {
	return &T[G]{Shape: append([]int(nil), t.Shape...), Data: ConvertSlice[G](t.Data)}
}

// ConvertSlice returns a new slice holding x's values converted to G.
func ConvertSlice[G, F Float](x []F) []G {
	out := make([]G, len(x))
	for i, v := range x {
		out[i] = G(v)
	}
	return out
}

// ArgmaxRows returns, for each row of k values of x, the index of its largest value (the
// first one of ties): the predicted class of every row of logits.
func ArgmaxRows[F Float](x []F, k int) []int {
	out := make([]int, len(x)/k)
	for i := range out {
		row := x[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		out[i] = best
	}
	return out
}
