package onnx

import (
	"fmt"
	"math/rand/v2"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// Layers the ONNX operators need beyond package nn. Each keeps what its Backward needs,
// as nn's layers do.

// Reshape gives every sample a new shape (Flatten with another target, Unsqueeze,
// Squeeze); the data are shared.
type Reshape[F tensor.Float] struct {
	Shape   []int // per-sample output shape
	inShape []int
}

// Forward reshapes x [N, ...] to [N, Shape...].
func (r *Reshape[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	r.inShape = append(r.inShape[:0], x.Shape...)
	return x.Reshape(append([]int{x.Shape[0]}, r.Shape...)...)
}

// Backward restores the input shape.
func (r *Reshape[F]) Backward(dy *tensor.T[F]) *tensor.T[F] { return dy.Reshape(r.inShape...) }

// Params returns nothing.
func (r *Reshape[F]) Params() []nn.Named[F] { return nil }

// GlobalPool is GlobalAveragePool ([N, C, H, W] → [N, C, 1, 1]) or ReduceMean over the
// spatial axes (→ [N, C] without keepdims).
type GlobalPool[F tensor.Float] struct {
	Pool    *nn.GlobalAvgPool2d[F]
	KeepDim bool
}

// Forward averages every plane.
func (g *GlobalPool[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	y := g.Pool.Forward(x)
	if g.KeepDim {
		return y
	}
	return y.Reshape(y.Shape[0], y.Shape[1])
}

// Backward spreads each gradient over its plane.
func (g *GlobalPool[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	return g.Pool.Backward(dy.Reshape(dy.Shape[0], dy.Shape[1], 1, 1))
}

// Params returns nothing.
func (g *GlobalPool[F]) Params() []nn.Named[F] { return nil }

// BatchNorm1d is BatchNormalization on [N, C]: nn.BatchNorm2d on [N, C, 1, 1], which
// computes the same statistics.
type BatchNorm1d[F tensor.Float] struct{ BN *nn.BatchNorm2d[F] }

// Forward normalises x [N, C].
func (b *BatchNorm1d[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	y := b.BN.Forward(x.Reshape(x.Shape[0], x.Shape[1], 1, 1))
	return y.Reshape(x.Shape...)
}

// Backward returns the input gradient [N, C].
func (b *BatchNorm1d[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	return b.BN.Backward(dy.Reshape(dy.Shape[0], dy.Shape[1], 1, 1)).Reshape(dy.Shape...)
}

// Params returns the BatchNorm's parameters.
func (b *BatchNorm1d[F]) Params() []nn.Named[F] { return b.BN.Params() }

// SetTraining switches between batch and running statistics.
func (b *BatchNorm1d[F]) SetTraining(on bool) { b.BN.SetTraining(on) }

// TransposedLinear is y = x·W + b over the last dimension with the weight stored
// [in, out] (ONNX MatMul by a weight, Gemm with transB 0), so that its parameter keeps
// the initializer's layout and name.
type TransposedLinear[F tensor.Float] struct {
	Weight, Bias *nn.Param[F] // [in, out], [out] (Bias may be nil)
	In, Out      int
	NoGrad       bool // skip the input gradient
	x, y, dx     *tensor.T[F]
}

// Forward computes x·W + b.
func (l *TransposedLinear[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	if x.Dim(-1) != l.In {
		panic(fmt.Sprintf("onnx.TransposedLinear: input shape %v, want last dimension %d", x.Shape, l.In))
	}
	rows := x.Numel() / l.In
	l.y = tensor.Ensure(l.y, append(append([]int(nil), x.Shape[:len(x.Shape)-1]...), l.Out)...)
	if l.Bias != nil {
		tensor.GemmBias(false, false, rows, l.Out, l.In, x.Data, l.In, l.Weight.Value.Data, l.Out, l.Bias.Value.Data, l.y.Data, l.Out)
	} else {
		tensor.Gemm(false, false, rows, l.Out, l.In, 1, x.Data, l.In, l.Weight.Value.Data, l.Out, 0, l.y.Data, l.Out)
	}
	l.x = x
	return l.y
}

// Backward adds dW = xᵀ dy and db = Σ dy, and returns dx = dy Wᵀ.
func (l *TransposedLinear[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	tensor.MustSameShape("onnx.TransposedLinear.Backward", dy, l.y)
	rows := dy.Numel() / l.Out
	if !l.Weight.Frozen {
		tensor.Gemm(true, false, l.In, l.Out, rows, 1, l.x.Data, l.In, dy.Data, l.Out, 1, l.Weight.Grad.Data, l.Out)
	}
	if l.Bias != nil && !l.Bias.Frozen {
		tensor.AddRowSums(l.Bias.Grad.Data, dy.Data[:rows*l.Out])
	}
	if l.NoGrad {
		return nil
	}
	l.dx = tensor.Ensure(l.dx, l.x.Shape...)
	tensor.Gemm(false, true, rows, l.In, l.Out, 1, dy.Data, l.Out, l.Weight.Value.Data, l.Out, 0, l.dx.Data, l.In)
	return l.dx
}

// Params returns weight and bias.
func (l *TransposedLinear[F]) Params() []nn.Named[F] {
	ps := []nn.Named[F]{{Name: "weight", P: l.Weight}}
	if l.Bias != nil {
		ps = append(ps, nn.Named[F]{Name: "bias", P: l.Bias})
	}
	return ps
}

// Dropout zeroes each value with probability P in training mode (scaling the others by
// 1/(1−P), as PyTorch does) and is the identity in eval mode, in which frpt evaluates
// and reconstructs. Its mask comes from a generator seeded with the model's seed.
type Dropout[F tensor.Float] struct {
	P        float64
	Training bool
	rng      *rand.Rand
	mask     []F
	y, dx    *tensor.T[F]
}

// SetTraining switches dropout on (training) or off.
func (d *Dropout[F]) SetTraining(on bool) { d.Training = on }

// Forward applies the mask in training mode.
func (d *Dropout[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	if !d.Training || d.P <= 0 {
		d.mask = d.mask[:0]
		return x
	}
	d.y = tensor.Ensure(d.y, x.Shape...)
	if cap(d.mask) < len(x.Data) {
		d.mask = make([]F, len(x.Data))
	}
	d.mask = d.mask[:len(x.Data)]
	keep := F(1 / (1 - d.P))
	for i, v := range x.Data {
		m := F(0)
		if d.P < 1 && d.rng.Float64() >= d.P {
			m = keep
		}
		d.mask[i] = m
		d.y.Data[i] = v * m
	}
	return d.y
}

// Backward multiplies dy by the last mask.
func (d *Dropout[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	if len(d.mask) == 0 {
		return dy
	}
	d.dx = tensor.Ensure(d.dx, dy.Shape...)
	for i, v := range dy.Data {
		d.dx.Data[i] = v * d.mask[i]
	}
	return d.dx
}

// Params returns nothing.
func (d *Dropout[F]) Params() []nn.Named[F] { return nil }

// blockNode is one layer of a Block: a module on slot in[0], or (mod nil) the sum of
// slots in[0] and in[1] — a residual connection.
type blockNode[F tensor.Float] struct {
	mod  nn.Module[F]
	in   []int
	out  int
	op   string
	name string
	sum  *tensor.T[F]
}

// Block is a part of the graph between two single-tensor cut points that forks and joins
// again (a residual block): its layers run in the file's order on numbered slots (slot 0
// is the block's input), and Backward adds the gradients where a tensor feeds several
// layers. As one nn.Module it is what reverse.Composite solves for (spec §4.8).
type Block[F tensor.Float] struct {
	nodes  []*blockNode[F]
	slots  int
	vals   []*tensor.T[F]
	grads  []*tensor.T[F]
	owned  []bool
	bufs   []*tensor.T[F]
	params []nn.Named[F]
}

// Forward runs the block's layers.
func (b *Block[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	b.vals[0] = x
	for _, n := range b.nodes {
		if n.mod != nil {
			b.vals[n.out] = n.mod.Forward(b.vals[n.in[0]])
			continue
		}
		p, q := b.vals[n.in[0]], b.vals[n.in[1]]
		n.sum = tensor.Ensure(n.sum, p.Shape...)
		s := n.sum.Data
		for i, v := range p.Data {
			s[i] = v + q.Data[i]
		}
		b.vals[n.out] = n.sum
	}
	return b.vals[b.nodes[len(b.nodes)-1].out]
}

// Backward backpropagates dy through the layers in reverse order.
func (b *Block[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	for i := range b.grads {
		b.grads[i], b.owned[i] = nil, false
	}
	b.grads[b.nodes[len(b.nodes)-1].out] = dy
	for k := len(b.nodes) - 1; k >= 0; k-- {
		n := b.nodes[k]
		g := b.grads[n.out]
		if g == nil {
			continue
		}
		if n.mod == nil {
			b.accumulate(n.in[0], g)
			b.accumulate(n.in[1], g)
			continue
		}
		if gi := n.mod.Backward(g); gi != nil {
			b.accumulate(n.in[0], gi)
		}
	}
	return b.grads[0]
}

// accumulate adds g to the gradient of slot s: the first contribution is kept as it is,
// a second one is summed into the slot's own buffer (float addition is commutative, so
// the order of the branches does not change the bits).
func (b *Block[F]) accumulate(s int, g *tensor.T[F]) {
	if b.grads[s] == nil {
		b.grads[s] = g
		return
	}
	if !b.owned[s] {
		b.bufs[s] = tensor.Ensure(b.bufs[s], g.Shape...)
		copy(b.bufs[s].Data, b.grads[s].Data)
		b.grads[s], b.owned[s] = b.bufs[s], true
	}
	d := b.grads[s].Data
	for i, v := range g.Data {
		d[i] += v
	}
}

// Params lists the block's parameters with their initializer names.
func (b *Block[F]) Params() []nn.Named[F] { return b.params }

// SetTraining sets the mode of every layer.
func (b *Block[F]) SetTraining(on bool) {
	for _, n := range b.nodes {
		if n.mod != nil {
			nn.SetTraining(n.mod, on)
		}
	}
}

// Layers lists the block's layers as "op name" in the file's order.
func (b *Block[F]) Layers() []string {
	out := make([]string, len(b.nodes))
	for i, n := range b.nodes {
		out[i] = n.op + " " + n.name
	}
	return out
}
