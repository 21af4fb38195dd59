package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/frpt/frpt/tensor"
)

// Linear is y = x Wᵀ + b over the last dimension, with PyTorch's layout: Weight [out, in],
// Bias [out]. Inputs may have any leading dimensions.
type Linear[F tensor.Float] struct {
	Weight, Bias *Param[F] // Bias is nil when the layer has none
	In, Out      int

	x      *tensor.T[F] // saved input
	y, dx  *tensor.T[F] // reused buffers
	NoGrad bool         // when true Backward skips the input gradient (first layer)
}

// NewLinear returns a Linear layer with PyTorch's default initialisation.
func NewLinear[F tensor.Float](in, out int, bias bool, rng *rand.Rand) *Linear[F] {
	l := &Linear[F]{Weight: NewParam[F](out, in), In: in, Out: out}
	KaimingUniform(l.Weight.Value, in, rng)
	if bias {
		l.Bias = NewParam[F](out)
		l.Bias.NoDecay = true
		KaimingUniform(l.Bias.Value, in, rng)
	}
	return l
}

// Forward computes x Wᵀ + b.
func (l *Linear[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	if x.Dim(-1) != l.In {
		panic(fmt.Sprintf("nn.Linear: input shape %v, want last dimension %d", x.Shape, l.In))
	}
	rows := x.Numel() / l.In
	shape := append(append([]int(nil), x.Shape[:len(x.Shape)-1]...), l.Out)
	l.y = tensor.Ensure(l.y, shape...)
	if l.Bias != nil {
		tensor.GemmBias(false, true, rows, l.Out, l.In, x.Data, l.In, l.Weight.Value.Data, l.In, l.Bias.Value.Data, l.y.Data, l.Out)
	} else {
		tensor.Gemm(false, true, rows, l.Out, l.In, 1, x.Data, l.In, l.Weight.Value.Data, l.In, 0, l.y.Data, l.Out)
	}
	l.x = x
	return l.y
}

// Backward adds dW = dyᵀ x and db = Σ dy, and returns dx = dy W.
func (l *Linear[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	tensor.MustSameShape("nn.Linear.Backward", dy, l.y)
	rows := dy.Numel() / l.Out
	if !l.Weight.Frozen {
		tensor.Gemm(true, false, l.Out, l.In, rows, 1, dy.Data, l.Out, l.x.Data, l.In, 1, l.Weight.Grad.Data, l.In)
	}
	if l.Bias != nil && !l.Bias.Frozen {
		tensor.AddRowSums(l.Bias.Grad.Data, dy.Data[:rows*l.Out])
	}
	if l.NoGrad {
		return nil
	}
	l.dx = ensureGrad(l.dx, l.x.Shape...)
	tensor.Gemm(false, false, rows, l.In, l.Out, 1, dy.Data, l.Out, l.Weight.Value.Data, l.In, 0, l.dx.Data, l.In)
	return l.dx
}

// ReleaseGrad hands the input-gradient buffer of the last Backward to a shared free list,
// from which the next Backward of any layer may take it: the gradient Backward returned
// must not be used afterwards.
func (l *Linear[F]) ReleaseGrad() { releaseGrad(&l.dx) }

// Params returns weight and bias.
func (l *Linear[F]) Params() []Named[F] {
	ps := []Named[F]{{"weight", l.Weight}}
	if l.Bias != nil {
		ps = append(ps, Named[F]{"bias", l.Bias})
	}
	return ps
}
