package nn

import (
	"fmt"

	"github.com/frpt/frpt/tensor"
)

// MaxPool2d is max pooling with a square kernel, stride and padding.
type MaxPool2d[F tensor.Float] struct {
	K, Stride, Pad int
	x, y, dx       *tensor.T[F]
	idx            []int32
}

// NewMaxPool2d returns nn.MaxPool2d(kernel, stride, pad).
func NewMaxPool2d[F tensor.Float](kernel, stride, pad int) *MaxPool2d[F] {
	return &MaxPool2d[F]{K: kernel, Stride: stride, Pad: pad}
}

// Forward pools x [N, C, H, W].
func (m *MaxPool2d[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	if len(x.Shape) != 4 {
		panic(fmt.Sprintf("nn.MaxPool2d: input shape %v, want [N C H W]", x.Shape))
	}
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	ho, wo := (h+2*m.Pad-m.K)/m.Stride+1, (w+2*m.Pad-m.K)/m.Stride+1
	m.y = tensor.Ensure(m.y, n, c, ho, wo)
	if cap(m.idx) < m.y.Numel() {
		m.idx = make([]int32, m.y.Numel())
	}
	m.idx = m.idx[:m.y.Numel()]
	tensor.MaxPool2dForward(n*c, h, w, m.K, m.Stride, m.Pad, x.Data, m.y.Data, m.idx)
	m.x = x
	return m.y
}

// Backward routes dy to the arg-max of every window.
func (m *MaxPool2d[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	tensor.MustSameShape("nn.MaxPool2d.Backward", dy, m.y)
	m.dx = tensor.Ensure(m.dx, m.x.Shape...)
	s := m.x.Shape
	tensor.MaxPool2dBackward(s[0]*s[1], s[2]*s[3], m.y.Shape[2]*m.y.Shape[3], dy.Data, m.dx.Data, m.idx)
	return m.dx
}

// Params returns nothing: pooling has no parameters.
func (m *MaxPool2d[F]) Params() []Named[F] { return nil }

// AvgPool2d is average pooling with a square kernel and stride, no padding.
type AvgPool2d[F tensor.Float] struct {
	K, Stride int
	x, y, dx  *tensor.T[F]
}

// NewAvgPool2d returns nn.AvgPool2d(kernel, stride).
func NewAvgPool2d[F tensor.Float](kernel, stride int) *AvgPool2d[F] {
	return &AvgPool2d[F]{K: kernel, Stride: stride}
}

// Forward pools x [N, C, H, W].
func (a *AvgPool2d[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	if len(x.Shape) != 4 {
		panic(fmt.Sprintf("nn.AvgPool2d: input shape %v, want [N C H W]", x.Shape))
	}
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	a.y = tensor.Ensure(a.y, n, c, (h-a.K)/a.Stride+1, (w-a.K)/a.Stride+1)
	tensor.AvgPool2dForward(n*c, h, w, a.K, a.Stride, x.Data, a.y.Data)
	a.x = x
	return a.y
}

// Backward spreads dy over each window.
func (a *AvgPool2d[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	tensor.MustSameShape("nn.AvgPool2d.Backward", dy, a.y)
	a.dx = tensor.Ensure(a.dx, a.x.Shape...)
	s := a.x.Shape
	tensor.AvgPool2dBackward(s[0]*s[1], s[2], s[3], a.K, a.Stride, dy.Data, a.dx.Data)
	return a.dx
}

// Params returns nothing.
func (a *AvgPool2d[F]) Params() []Named[F] { return nil }

// GlobalAvgPool2d is AdaptiveAvgPool2d((1, 1)): [N, C, H, W] → [N, C, 1, 1].
type GlobalAvgPool2d[F tensor.Float] struct {
	inShape []int
	y, dx   *tensor.T[F]
}

// NewGlobalAvgPool2d returns a global average pool.
func NewGlobalAvgPool2d[F tensor.Float]() *GlobalAvgPool2d[F] { return &GlobalAvgPool2d[F]{} }

// Forward averages every plane.
func (g *GlobalAvgPool2d[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	if len(x.Shape) != 4 {
		panic(fmt.Sprintf("nn.GlobalAvgPool2d: input shape %v, want [N C H W]", x.Shape))
	}
	g.inShape = append(g.inShape[:0], x.Shape...)
	n, c, hw := x.Shape[0], x.Shape[1], x.Shape[2]*x.Shape[3]
	g.y = tensor.Ensure(g.y, n, c, 1, 1)
	inv := 1 / F(hw)
	for p := 0; p < n*c; p++ {
		var s F
		for _, v := range x.Data[p*hw : (p+1)*hw] {
			s += v
		}
		g.y.Data[p] = s * inv
	}
	return g.y
}

// Backward spreads each gradient evenly over its plane.
func (g *GlobalAvgPool2d[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	g.dx = tensor.Ensure(g.dx, g.inShape...)
	hw := g.inShape[2] * g.inShape[3]
	inv := 1 / F(hw)
	for p, v := range dy.Data {
		row := g.dx.Data[p*hw : (p+1)*hw]
		for i := range row {
			row[i] = v * inv
		}
	}
	return g.dx
}

// Params returns nothing.
func (g *GlobalAvgPool2d[F]) Params() []Named[F] { return nil }

// Flatten reshapes [N, ...] to [N, rest] (sharing data).
type Flatten[F tensor.Float] struct{ inShape []int }

// NewFlatten returns a Flatten layer.
func NewFlatten[F tensor.Float]() *Flatten[F] { return &Flatten[F]{} }

// Forward flattens all but the first dimension.
func (f *Flatten[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	f.inShape = append(f.inShape[:0], x.Shape...)
	return x.Reshape(x.Shape[0], -1)
}

// Backward restores the input shape.
func (f *Flatten[F]) Backward(dy *tensor.T[F]) *tensor.T[F] { return dy.Reshape(f.inShape...) }

// Params returns nothing.
func (f *Flatten[F]) Params() []Named[F] { return nil }

// fusable reports whether the pool is the 2×2, stride-2, unpadded max pool that
// tensor.ReLUMaxPool2x2 computes together with a preceding ReLU.
func (m *MaxPool2d[F]) fusable() bool { return m.K == 2 && m.Stride == 2 && m.Pad == 0 }

// ReLUMaxPool is pool.Forward(act.Forward(x)), in one pass over x when the pool is 2×2
// with stride 2 and no padding (tensor.ReLUMaxPool2x2, the same bits). Both layers are
// left as their own Forward calls leave them (act's output is a, pool's input a and output
// p), so their Backward methods, or ReLUMaxPoolBackward, may follow.
func ReLUMaxPool[F tensor.Float](act *ReLU[F], pool *MaxPool2d[F], x *tensor.T[F]) (a, p *tensor.T[F]) {
	if !pool.fusable() || len(x.Shape) != 4 || x.Shape[2] < 2 || x.Shape[3] < 2 {
		a = act.Forward(x)
		return a, pool.Forward(a)
	}
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	act.x = x
	act.y = tensor.Ensure(act.y, x.Shape...)
	pool.y = tensor.Ensure(pool.y, n, c, h/2, w/2)
	if cap(pool.idx) < pool.y.Numel() {
		pool.idx = make([]int32, pool.y.Numel())
	}
	pool.idx = pool.idx[:pool.y.Numel()]
	tensor.ReLUMaxPool2x2(n*c, h, w, x.Data, act.y.Data, pool.y.Data, pool.idx)
	pool.x = act.y
	return act.y, pool.y
}

// ReLUMaxPoolBackward is act.Backward(pool.Backward(dy)) after ReLUMaxPool (or the two
// Forward calls): one pass writing act's input gradient (tensor.ReLUMaxPool2x2Backward,
// the same bits) when the pool is 2×2/2 and its input is act's output; otherwise the two
// Backward calls.
func ReLUMaxPoolBackward[F tensor.Float](act *ReLU[F], pool *MaxPool2d[F], dy *tensor.T[F]) *tensor.T[F] {
	if !pool.fusable() || pool.x == nil || pool.x != act.y || pool.x.Shape[2] < 2 || pool.x.Shape[3] < 2 {
		return act.Backward(pool.Backward(dy))
	}
	tensor.MustSameShape("nn.ReLUMaxPoolBackward", dy, pool.y)
	s := act.y.Shape
	act.dx = ensureGrad(act.dx, s...) // as act.Backward does
	tensor.ReLUMaxPool2x2Backward(s[0]*s[1], s[2], s[3], dy.Data, pool.y.Data, pool.idx, act.dx.Data)
	return act.dx
}
