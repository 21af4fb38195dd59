package nn

import (
	"fmt"
	"math"
	"strings"

	"github.com/frpt/frpt/tensor"
)

// This file holds the elementwise activations of spec §4.4 with PyTorch's forward and
// backward semantics (including the value of the derivative at kinks, which follows
// PyTorch's backward kernels). Every activation keeps its input and output buffers from
// the last Forward; Backward reads them (ReLU, Tanh and Sigmoid read the output), so
// neither the input nor the returned output may be modified in place in between.
// Each type exposes its parameters as fields so that the reverse operators can read them.

// actGrain is the number of elements below which an activation runs on one goroutine.
const actGrain = 1 << 15

// elementwise is the state shared by all activations: the saved input, the output and the
// input-gradient buffers (reused across calls).
type elementwise[F tensor.Float] struct {
	x, y, dx *tensor.T[F]
}

// forward prepares the output buffer and runs fn over x and y in parallel chunks.
func (e *elementwise[F]) forward(x *tensor.T[F], fn func(x, y []F)) *tensor.T[F] {
	e.x = x
	e.y = tensor.Ensure(e.y, x.Shape...)
	xs, ys := x.Data, e.y.Data
	tensor.Parallel(len(xs), actGrain, func(lo, hi int) { fn(xs[lo:hi], ys[lo:hi]) })
	return e.y
}

// backward prepares the input-gradient buffer and runs fn over (x, y, dy, dx) chunks.
func (e *elementwise[F]) backward(name string, dy *tensor.T[F], fn func(x, y, dy, dx []F)) *tensor.T[F] {
	if e.y == nil {
		panic("nn." + name + ".Backward: called before Forward")
	}
	tensor.MustSameShape("nn."+name+".Backward", dy, e.y)
	e.dx = ensureGrad(e.dx, dy.Shape...)
	xs, ys, dys, dxs := e.x.Data, e.y.Data, dy.Data, e.dx.Data
	tensor.Parallel(len(xs), actGrain, func(lo, hi int) { fn(xs[lo:hi], ys[lo:hi], dys[lo:hi], dxs[lo:hi]) })
	return e.dx
}

// Params returns nothing: activations have no parameters.
func (e *elementwise[F]) Params() []Named[F] { return nil }

// ReleaseGrad hands the input-gradient buffer of the last Backward to a shared free list,
// from which the next Backward of any layer may take it: the gradient Backward returned
// must not be used afterwards.
func (e *elementwise[F]) ReleaseGrad() { releaseGrad(&e.dx) }

// ReLU is max(x, 0). Its derivative at 0 is 0, as in PyTorch.
type ReLU[F tensor.Float] struct{ elementwise[F] }

// NewReLU returns a ReLU.
func NewReLU[F tensor.Float]() *ReLU[F] { return &ReLU[F]{} }

// Forward computes max(x, 0).
func (a *ReLU[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	return a.forward(x, func(x, y []F) { tensor.ReLU(x, y) })
}

// ForwardSum is Forward(a + b) without the sum in memory: max(a + b, 0) by L1-sized
// chunks (tensor.AddReLU), the bits of the two passes. Backward reads only the output,
// so the layer keeps a as its input.
func (a *ReLU[F]) ForwardSum(x, y *tensor.T[F]) *tensor.T[F] {
	tensor.MustSameShape("nn.ReLU.ForwardSum", x, y)
	a.x = x
	a.y = tensor.Ensure(a.y, x.Shape...)
	xs, ys, out := x.Data, y.Data, a.y.Data
	tensor.Parallel(len(xs), actGrain, func(lo, hi int) { tensor.AddReLU(xs[lo:hi], ys[lo:hi], out[lo:hi]) })
	return a.y
}

// Backward passes dy where the output is non-zero (x > 0), like PyTorch's
// threshold_backward on the result. It masks bits instead of branching
// (tensor.ReLUMask): with random signs a branch mispredicts half the time and is several
// times slower.
func (a *ReLU[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	return a.backward("ReLU", dy, func(_, y, dy, dx []F) { tensor.ReLUMask(dx, dy, y) })
}

// Hardtanh is clip(x, Min, Max); the derivative is 1 strictly inside (Min, Max), else 0.
type Hardtanh[F tensor.Float] struct {
	elementwise[F]
	Min, Max float64
}

// NewHardtanh returns a Hardtanh clipping to [lo, hi] (PyTorch's defaults are −1, 1).
func NewHardtanh[F tensor.Float](lo, hi float64) *Hardtanh[F] {
	if !(lo < hi) {
		panic(fmt.Sprintf("nn.NewHardtanh: min %g must be below max %g", lo, hi))
	}
	return &Hardtanh[F]{Min: lo, Max: hi}
}

// Forward computes clip(x, Min, Max).
func (a *Hardtanh[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	lo, hi := F(a.Min), F(a.Max)
	return a.forward(x, func(x, y []F) {
		for i, v := range x {
			y[i] = min(max(v, lo), hi)
		}
	})
}

// Backward passes dy where Min < x < Max.
func (a *Hardtanh[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	lo, hi := F(a.Min), F(a.Max)
	return a.backward("Hardtanh", dy, func(x, _, dy, dx []F) {
		for i, v := range x {
			if v > lo && v < hi {
				dx[i] = dy[i]
			} else {
				dx[i] = 0
			}
		}
	})
}

// ReLU6 is min(max(x, 0), 6), PyTorch's Hardtanh(0, 6).
type ReLU6[F tensor.Float] struct{ Hardtanh[F] }

// NewReLU6 returns a ReLU6.
func NewReLU6[F tensor.Float]() *ReLU6[F] { return &ReLU6[F]{Hardtanh[F]{Min: 0, Max: 6}} }

// LeakyReLU is x for x > 0 and Slope·x otherwise.
type LeakyReLU[F tensor.Float] struct {
	elementwise[F]
	Slope float64
}

// NewLeakyReLU returns a LeakyReLU with the given negative slope (PyTorch default 0.01).
func NewLeakyReLU[F tensor.Float](slope float64) *LeakyReLU[F] { return &LeakyReLU[F]{Slope: slope} }

// Forward computes x > 0 ? x : Slope·x.
func (a *LeakyReLU[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	s := F(a.Slope)
	return a.forward(x, func(x, y []F) {
		for i, v := range x {
			if v > 0 {
				y[i] = v
			} else {
				y[i] = s * v
			}
		}
	})
}

// Backward multiplies dy by 1 where x > 0 and by Slope elsewhere.
func (a *LeakyReLU[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	s := F(a.Slope)
	return a.backward("LeakyReLU", dy, func(x, _, dy, dx []F) {
		for i, v := range x {
			if v > 0 {
				dx[i] = dy[i]
			} else {
				dx[i] = s * dy[i]
			}
		}
	})
}

// Tanh is the hyperbolic tangent.
type Tanh[F tensor.Float] struct{ elementwise[F] }

// NewTanh returns a Tanh.
func NewTanh[F tensor.Float]() *Tanh[F] { return &Tanh[F]{} }

// Forward computes tanh(x).
func (a *Tanh[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	return a.forward(x, func(x, y []F) {
		for i, v := range x {
			y[i] = F(math.Tanh(float64(v)))
		}
	})
}

// Backward computes dy·(1 − y²).
func (a *Tanh[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	return a.backward("Tanh", dy, func(_, y, dy, dx []F) {
		for i, v := range y {
			dx[i] = dy[i] * (1 - v*v)
		}
	})
}

// SigmoidScalar is 1/(1+e^(−x)), computed without overflow.
func SigmoidScalar(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// Sigmoid is the logistic function 1/(1+e^(−x)).
type Sigmoid[F tensor.Float] struct{ elementwise[F] }

// NewSigmoid returns a Sigmoid.
func NewSigmoid[F tensor.Float]() *Sigmoid[F] { return &Sigmoid[F]{} }

// Forward computes σ(x).
func (a *Sigmoid[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	return a.forward(x, func(x, y []F) {
		for i, v := range x {
			y[i] = F(SigmoidScalar(float64(v)))
		}
	})
}

// Backward computes dy·y·(1 − y).
func (a *Sigmoid[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	return a.backward("Sigmoid", dy, func(_, y, dy, dx []F) {
		for i, v := range y {
			dx[i] = dy[i] * v * (1 - v)
		}
	})
}

// HardsigmoidScalar is PyTorch's hardsigmoid relu6(x+3)/6.
func HardsigmoidScalar(x float64) float64 { return min(max(x+3, 0), 6) / 6 }

// Hardsigmoid is relu6(x+3)/6; the derivative is 1/6 strictly inside (−3, 3), else 0.
type Hardsigmoid[F tensor.Float] struct{ elementwise[F] }

// NewHardsigmoid returns a Hardsigmoid.
func NewHardsigmoid[F tensor.Float]() *Hardsigmoid[F] { return &Hardsigmoid[F]{} }

// Forward computes relu6(x+3)/6.
func (a *Hardsigmoid[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	return a.forward(x, func(x, y []F) {
		for i, v := range x {
			y[i] = min(max(v+3, 0), 6) / 6
		}
	})
}

// Backward passes dy/6 where −3 < x < 3.
func (a *Hardsigmoid[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	return a.backward("Hardsigmoid", dy, func(x, _, dy, dx []F) {
		for i, v := range x {
			if v > -3 && v < 3 {
				dx[i] = dy[i] / 6
			} else {
				dx[i] = 0
			}
		}
	})
}

// ELUScalar is x for x > 0 and α(eˣ − 1) otherwise.
func ELUScalar(x, alpha float64) float64 {
	if x > 0 {
		return x
	}
	return alpha * math.Expm1(x)
}

// ELU is x for x > 0 and Alpha·(eˣ − 1) otherwise.
type ELU[F tensor.Float] struct {
	elementwise[F]
	Alpha float64
}

// NewELU returns an ELU (PyTorch default α = 1).
func NewELU[F tensor.Float](alpha float64) *ELU[F] { return &ELU[F]{Alpha: alpha} }

// Forward computes ELU(x).
func (a *ELU[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	al := a.Alpha
	return a.forward(x, func(x, y []F) {
		for i, v := range x {
			y[i] = F(ELUScalar(float64(v), al))
		}
	})
}

// Backward multiplies dy by 1 where x > 0 and by α·eˣ = y + α elsewhere.
func (a *ELU[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	al := a.Alpha
	return a.backward("ELU", dy, func(x, _, dy, dx []F) {
		for i, v := range x {
			if v > 0 {
				dx[i] = dy[i]
			} else {
				dx[i] = dy[i] * F(al*math.Exp(float64(v)))
			}
		}
	})
}

// SoftplusThreshold is PyTorch's Softplus threshold: where β·x exceeds it, softplus is x.
const SoftplusThreshold = 20

// SoftplusScalar is log(1 + e^(βx))/β, or x where βx > SoftplusThreshold (PyTorch).
func SoftplusScalar(x, beta float64) float64 {
	bx := beta * x
	if bx > SoftplusThreshold {
		return x
	}
	// log1p(e^bx) computed stably for very negative bx as well.
	if bx > 0 {
		return (bx + math.Log1p(math.Exp(-bx))) / beta
	}
	return math.Log1p(math.Exp(bx)) / beta
}

// Softplus is log(1 + e^(Beta·x))/Beta, linear where Beta·x > Threshold.
type Softplus[F tensor.Float] struct {
	elementwise[F]
	Beta, Threshold float64
}

// NewSoftplus returns a Softplus with the given β (PyTorch default 1) and threshold 20.
func NewSoftplus[F tensor.Float](beta float64) *Softplus[F] {
	if beta <= 0 {
		panic(fmt.Sprintf("nn.NewSoftplus: beta %g must be positive", beta))
	}
	return &Softplus[F]{Beta: beta, Threshold: SoftplusThreshold}
}

// Forward computes softplus(x).
func (a *Softplus[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	be, th := a.Beta, a.Threshold
	return a.forward(x, func(x, y []F) {
		for i, v := range x {
			xv := float64(v)
			if be*xv > th {
				y[i] = v
			} else {
				y[i] = F(SoftplusScalar(xv, be))
			}
		}
	})
}

// Backward multiplies dy by σ(βx) (1 above the threshold).
func (a *Softplus[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	be, th := a.Beta, a.Threshold
	return a.backward("Softplus", dy, func(x, _, dy, dx []F) {
		for i, v := range x {
			bx := be * float64(v)
			if bx > th {
				dx[i] = dy[i]
			} else {
				dx[i] = dy[i] * F(SigmoidScalar(bx))
			}
		}
	})
}

// GELUScalar is the exact GELU x·Φ(x) = x/2·(1 + erf(x/√2)).
func GELUScalar(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }

// invSqrt2Pi is 1/√(2π), the peak of the standard normal density.
const invSqrt2Pi = 0.3989422804014327

// GELUDeriv is the derivative of GELUScalar: Φ(x) + x·φ(x).
func GELUDeriv(x float64) float64 {
	return 0.5*(1+math.Erf(x/math.Sqrt2)) + x*invSqrt2Pi*math.Exp(-0.5*x*x)
}

// GELU is the exact (erf) Gaussian error linear unit, PyTorch's approximate="none". In
// float64 it uses math.Erf; in float32 a rational erf approximation with error below
// 1e-7, i.e. at float32 resolution (PyTorch's float32 kernel also approximates erf).
type GELU[F tensor.Float] struct{ elementwise[F] }

// NewGELU returns a GELU.
func NewGELU[F tensor.Float]() *GELU[F] { return &GELU[F]{} }

// Forward computes x·Φ(x).
func (a *GELU[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	return a.forward(x, func(x, y []F) {
		if xs, ok := any(x).([]float32); ok {
			geluForward32(xs, any(y).([]float32))
			return
		}
		for i, v := range x {
			y[i] = F(GELUScalar(float64(v)))
		}
	})
}

// Backward multiplies dy by Φ(x) + x·φ(x).
func (a *GELU[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	return a.backward("GELU", dy, func(x, _, dy, dx []F) {
		if xs, ok := any(x).([]float32); ok {
			geluBackward32(xs, any(dy).([]float32), any(dx).([]float32))
			return
		}
		for i, v := range x {
			dx[i] = dy[i] * F(GELUDeriv(float64(v)))
		}
	})
}

// gelu32Block is the block length of the float32 GELU kernels. They convert a block to
// float64 first, compute, and convert back: converting inside the arithmetic loop lets
// the float32→float64 conversion (which writes only half a register) wait on the previous
// element's long erf chain, which serialises the loop and doubles its cost.
const gelu32Block = 256

// geluForward32 computes y = x·Φ(x) for float32 through tensor.GELUInPlace.
func geluForward32(x, y []float32) {
	var buf [gelu32Block]float64
	for lo := 0; lo < len(x); lo += gelu32Block {
		hi := min(lo+gelu32Block, len(x))
		b := buf[:hi-lo]
		tensor.ShiftToFloat64(b, x[lo:hi], 0) // float64(x − 0) = float64(x), −0 and NaN included
		tensor.GELUInPlace(b)
		tensor.NarrowToFloat32(y[lo:hi], b)
	}
}

// geluBackward32 computes dx = dy·(Φ(x) + x·φ(x)) for float32 through tensor.GELUGradInPlace.
func geluBackward32(x, dy, dx []float32) {
	var buf [gelu32Block]float64
	for lo := 0; lo < len(x); lo += gelu32Block {
		hi := min(lo+gelu32Block, len(x))
		b := buf[:hi-lo]
		tensor.ShiftToFloat64(b, x[lo:hi], 0) // float64(x − 0) = float64(x), −0 and NaN included
		tensor.GELUGradInPlace(b)
		tensor.MulNarrow(dx[lo:hi], dy[lo:hi], b)
	}
}

// SiLUScalar is x·σ(x) (Swish).
func SiLUScalar(x float64) float64 { return x * SigmoidScalar(x) }

// SiLU is x·σ(x), also called Swish.
type SiLU[F tensor.Float] struct{ elementwise[F] }

// NewSiLU returns a SiLU.
func NewSiLU[F tensor.Float]() *SiLU[F] { return &SiLU[F]{} }

// Forward computes x·σ(x).
func (a *SiLU[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	return a.forward(x, func(x, y []F) {
		for i, v := range x {
			y[i] = F(SiLUScalar(float64(v)))
		}
	})
}

// Backward multiplies dy by σ(x)·(1 + x·(1 − σ(x))).
func (a *SiLU[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	return a.backward("SiLU", dy, func(x, _, dy, dx []F) {
		for i, v := range x {
			xv := float64(v)
			s := SigmoidScalar(xv)
			dx[i] = dy[i] * F(s*(1+xv*(1-s)))
		}
	})
}

// HardswishScalar is PyTorch's hardswish x·relu6(x+3)/6.
func HardswishScalar(x float64) float64 { return x * min(max(x+3, 0), 6) / 6 }

// Hardswish is x·relu6(x+3)/6. Its backward follows PyTorch: 0 for x < −3, x/3 + 1/2 for
// −3 ≤ x ≤ 3 and 1 above.
type Hardswish[F tensor.Float] struct{ elementwise[F] }

// NewHardswish returns a Hardswish.
func NewHardswish[F tensor.Float]() *Hardswish[F] { return &Hardswish[F]{} }

// Forward computes x·relu6(x+3)/6.
func (a *Hardswish[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	return a.forward(x, func(x, y []F) {
		for i, v := range x {
			y[i] = v * min(max(v+3, 0), 6) / 6
		}
	})
}

// Backward multiplies dy by the piecewise derivative.
func (a *Hardswish[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	return a.backward("Hardswish", dy, func(x, _, dy, dx []F) {
		for i, v := range x {
			switch {
			case v < -3:
				dx[i] = 0
			case v <= 3:
				dx[i] = dy[i] * (v/3 + 0.5)
			default:
				dx[i] = dy[i]
			}
		}
	})
}

// Name methods give the canonical lower-case name (as accepted by NewActivation and by
// the reverse operators of spec §4.4) of each activation.

// Name returns "relu".
func (*ReLU[F]) Name() string { return "relu" }

// Name returns "hardtanh".
func (*Hardtanh[F]) Name() string { return "hardtanh" }

// Name returns "relu6".
func (*ReLU6[F]) Name() string { return "relu6" }

// Name returns "leakyrelu".
func (*LeakyReLU[F]) Name() string { return "leakyrelu" }

// Name returns "tanh".
func (*Tanh[F]) Name() string { return "tanh" }

// Name returns "sigmoid".
func (*Sigmoid[F]) Name() string { return "sigmoid" }

// Name returns "hardsigmoid".
func (*Hardsigmoid[F]) Name() string { return "hardsigmoid" }

// Name returns "elu".
func (*ELU[F]) Name() string { return "elu" }

// Name returns "softplus".
func (*Softplus[F]) Name() string { return "softplus" }

// Name returns "gelu".
func (*GELU[F]) Name() string { return "gelu" }

// Name returns "silu".
func (*SiLU[F]) Name() string { return "silu" }

// Name returns "hardswish".
func (*Hardswish[F]) Name() string { return "hardswish" }

// ActivationNames lists the names NewActivation accepts (after lower-casing and removing
// "_" and "-"), in spec §4.4 order.
var ActivationNames = []string{
	"relu", "relu6", "leakyrelu", "hardtanh", "tanh", "sigmoid", "hardsigmoid",
	"elu", "softplus", "gelu", "silu", "swish", "hardswish",
}

// NewActivation returns the activation with the given name and PyTorch's default
// parameters (LeakyReLU slope 0.01, Hardtanh [−1, 1], ELU α 1, Softplus β 1). Names are
// matched case-insensitively, ignoring "_" and "-" ("ReLU", "leaky_relu", "GELU", "swish").
func NewActivation[F tensor.Float](name string) (Module[F], error) {
	key := strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(strings.TrimSpace(name)))
	switch key {
	case "relu":
		return NewReLU[F](), nil
	case "relu6":
		return NewReLU6[F](), nil
	case "leakyrelu":
		return NewLeakyReLU[F](0.01), nil
	case "hardtanh":
		return NewHardtanh[F](-1, 1), nil
	case "tanh":
		return NewTanh[F](), nil
	case "sigmoid":
		return NewSigmoid[F](), nil
	case "hardsigmoid":
		return NewHardsigmoid[F](), nil
	case "elu":
		return NewELU[F](1), nil
	case "softplus":
		return NewSoftplus[F](1), nil
	case "gelu":
		return NewGELU[F](), nil
	case "silu", "swish":
		return NewSiLU[F](), nil
	case "hardswish":
		return NewHardswish[F](), nil
	}
	return nil, fmt.Errorf("nn.NewActivation: unknown activation %q (known: %s)", name, strings.Join(ActivationNames, ", "))
}
