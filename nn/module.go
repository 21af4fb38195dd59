package nn

import (
	"math/rand/v2"

	"github.com/frpt/frpt/tensor"
)

// Param is a learnable tensor (or a state buffer such as BatchNorm's running mean) with
// its gradient.
type Param[F tensor.Float] struct {
	Value *tensor.T[F]
	Grad  *tensor.T[F] // nil for buffers
	// Frozen parameters get no gradient and are not updated (PyTorch requires_grad=False).
	Frozen bool
	// Buffer marks non-learnable state (running statistics); it is saved, never trained.
	Buffer bool
	// Int marks a buffer PyTorch stores as int64 (num_batches_tracked).
	Int bool
	// NoDecay excludes the parameter from weight decay (biases, norm weights, embeddings).
	NoDecay bool
}

// NewParam returns a trainable parameter of the given shape with a zero gradient.
func NewParam[F tensor.Float](shape ...int) *Param[F] {
	return &Param[F]{Value: tensor.New[F](shape...), Grad: tensor.New[F](shape...)}
}

// NewBuffer returns a non-learnable state tensor.
func NewBuffer[F tensor.Float](shape ...int) *Param[F] {
	return &Param[F]{Value: tensor.New[F](shape...), Buffer: true, Frozen: true}
}

// Trainable reports whether the optimiser should update p.
func (p *Param[F]) Trainable() bool { return !p.Frozen && !p.Buffer }

// Named is a parameter with its state_dict key.
type Named[F tensor.Float] struct {
	Name string
	P    *Param[F]
}

// Module is a layer or a composition of layers.
type Module[F tensor.Float] interface {
	// Forward computes the output and records what Backward needs.
	Forward(x *tensor.T[F]) *tensor.T[F]
	// Backward takes the gradient of the loss with respect to the last Forward's output,
	// adds parameter gradients into Param.Grad and returns the input gradient.
	Backward(dy *tensor.T[F]) *tensor.T[F]
	// Params lists parameters and buffers with names relative to the module, in
	// PyTorch state_dict order.
	Params() []Named[F]
}

// ModeSetter is implemented by modules that behave differently in training and
// evaluation (BatchNorm, Dropout) and by containers that pass the mode on.
type ModeSetter interface {
	SetTraining(on bool)
}

// SetTraining switches m (and its children, if it passes the mode on) between training
// and evaluation behaviour. Modules without a mode are left alone.
func SetTraining[F tensor.Float](m Module[F], on bool) {
	if s, ok := m.(ModeSetter); ok {
		s.SetTraining(on)
	}
}

// Prefix returns ps with "prefix." put before every name.
func Prefix[F tensor.Float](prefix string, ps []Named[F]) []Named[F] {
	out := make([]Named[F], len(ps))
	for i, p := range ps {
		out[i] = Named[F]{Name: prefix + "." + p.Name, P: p.P}
	}
	return out
}

// ZeroGrad clears the gradients of ps.
func ZeroGrad[F tensor.Float](ps []Named[F]) {
	for _, p := range ps {
		if p.P.Grad != nil {
			g := p.P.Grad.Data // up to 2.4M values in ResNet-18: cleared on all workers
			tensor.Parallel(len(g), zeroGrain, func(lo, hi int) { clear(g[lo:hi]) })
		}
	}
}

// zeroGrain is the number of gradient values below which ZeroGrad clears on one goroutine.
const zeroGrain = 1 << 16

// SetFrozen freezes or unfreezes every non-buffer parameter of ps.
func SetFrozen[F tensor.Float](ps []Named[F], frozen bool) {
	for _, p := range ps {
		if !p.P.Buffer {
			p.P.Frozen = frozen
		}
	}
}

// NewRand returns the seeded random source used for initialisation, dropout and data
// order. The same seed always gives the same stream.
func NewRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
}
