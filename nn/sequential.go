package nn

import (
	"strconv"

	"github.com/frpt/frpt/tensor"
)

// Sequential runs its children in order; parameters are named "0.…", "1.…" as PyTorch's
// nn.Sequential names them.
type Sequential[F tensor.Float] struct {
	Children []Module[F]
}

// NewSequential returns a Sequential of the given children.
func NewSequential[F tensor.Float](children ...Module[F]) *Sequential[F] {
	return &Sequential[F]{Children: children}
}

// Forward applies the children in order.
func (s *Sequential[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	for _, c := range s.Children {
		x = c.Forward(x)
	}
	return x
}

// Backward applies the children's backward in reverse order.
func (s *Sequential[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	for i := len(s.Children) - 1; i >= 0; i-- {
		dy = s.Children[i].Backward(dy)
	}
	return dy
}

// Params lists the children's parameters under their index.
func (s *Sequential[F]) Params() []Named[F] {
	var out []Named[F]
	for i, c := range s.Children {
		out = append(out, Prefix(strconv.Itoa(i), c.Params())...)
	}
	return out
}

// SetTraining passes the mode on to the children.
func (s *Sequential[F]) SetTraining(on bool) {
	for _, c := range s.Children {
		SetTraining(c, on)
	}
}
