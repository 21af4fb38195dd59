package nn

import (
	"fmt"
	"math"
	"strings"

	"github.com/frpt/frpt/tensor"
)

// Optimizer updates parameters from their accumulated gradients.
type Optimizer interface {
	// Step applies one update to every trainable parameter (frozen parameters and
	// buffers are skipped).
	Step()
	// ZeroGrad clears the gradients of every parameter the optimiser holds.
	ZeroGrad()
	// LR returns the learning rate of the first parameter group.
	LR() float64
	// SetLR sets the learning rate of the first group to lr and scales the other groups
	// so that every group keeps its initial ratio to the first one; a scheduler can thus
	// drive a multi-group optimiser through one number.
	SetLR(lr float64)
}

// Group is a set of parameters sharing a learning rate and weight decay, like a PyTorch
// param group.
type Group[F tensor.Float] struct {
	Params      []Named[F]
	LR          float64
	WeightDecay float64
}

// optGroups is the bookkeeping shared by the optimisers: the groups and their initial
// learning rates.
type optGroups[F tensor.Float] struct {
	Groups []Group[F]
	initLR []float64
}

func newGroups[F tensor.Float](op string, gs []Group[F]) optGroups[F] {
	if len(gs) == 0 {
		panic(op + ": no parameter groups")
	}
	seen := map[*Param[F]]string{}
	init := make([]float64, len(gs))
	for i, g := range gs {
		if g.LR < 0 || g.WeightDecay < 0 {
			panic(fmt.Sprintf("%s: group %d has lr %g, weight decay %g", op, i, g.LR, g.WeightDecay))
		}
		for _, p := range g.Params {
			if prev, ok := seen[p.P]; ok {
				panic(fmt.Sprintf("%s: parameter %q appears twice (also as %q)", op, p.Name, prev))
			}
			seen[p.P] = p.Name
		}
		init[i] = g.LR
	}
	return optGroups[F]{Groups: append([]Group[F](nil), gs...), initLR: init}
}

// LR returns the learning rate of the first group.
func (g *optGroups[F]) LR() float64 { return g.Groups[0].LR }

// SetLR sets the first group's learning rate to lr and the others proportionally to their
// initial learning rates (all to lr when the first group started at 0).
func (g *optGroups[F]) SetLR(lr float64) {
	for i := range g.Groups {
		if g.initLR[0] == 0 {
			g.Groups[i].LR = lr
		} else {
			g.Groups[i].LR = lr * g.initLR[i] / g.initLR[0]
		}
	}
}

// ZeroGrad clears the gradients of every parameter in every group.
func (g *optGroups[F]) ZeroGrad() {
	for _, gr := range g.Groups {
		ZeroGrad(gr.Params)
	}
}

// AdamW is torch.optim.AdamW (amsgrad off): for each trainable parameter with step count t,
//
//	p ← p·(1 − lr·wd)                       (decoupled weight decay)
//	m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//	p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε)
//
// Moments and step counts are per parameter and created at its first update, as in
// PyTorch. Parameters of at least 2·2¹⁵ elements are updated in parallel chunks over
// tensor.Workers (the result does not depend on the split); apart from that, Step
// allocates nothing once every parameter has been updated once.
type AdamW[F tensor.Float] struct {
	optGroups[F]
	Beta1, Beta2, Eps float64
	state             [][]adamState[F] // [group][param]
}

type adamState[F tensor.Float] struct {
	step int
	m, v []F
}

// NewAdamW returns AdamW over the given groups with PyTorch's defaults β = (0.9, 0.999),
// ε = 1e-8. A parameter may appear in one group only.
func NewAdamW[F tensor.Float](gs ...Group[F]) *AdamW[F] {
	o := &AdamW[F]{optGroups: newGroups("nn.NewAdamW", gs), Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	o.state = make([][]adamState[F], len(gs))
	for i, g := range gs {
		o.state[i] = make([]adamState[F], len(g.Params))
	}
	return o
}

// Step applies one AdamW update to every trainable parameter.
func (o *AdamW[F]) Step() {
	b1, b2 := o.Beta1, o.Beta2
	for gi, g := range o.Groups {
		for pi, np := range g.Params {
			p := np.P
			if !p.Trainable() {
				continue
			}
			st := &o.state[gi][pi]
			if st.m == nil {
				st.m = make([]F, len(p.Value.Data))
				st.v = make([]F, len(p.Value.Data))
			}
			st.step++
			decay := F(1 - g.LR*g.WeightDecay)
			bc1 := 1 - math.Pow(b1, float64(st.step))
			bc2Sqrt := math.Sqrt(1 - math.Pow(b2, float64(st.step)))
			stepSize := F(g.LR / bc1)
			c := [8]F{F(b1), F(1 - b1), F(b2), F(1 - b2), F(bc2Sqrt), F(o.Eps), decay, stepSize}
			w, gr, m, v := p.Value.Data, p.Grad.Data[:len(p.Value.Data)], st.m, st.v
			if len(w) >= 2*adamGrain && tensor.Workers > 1 {
				tensor.Parallel(len(w), adamGrain, func(lo, hi int) { tensor.AdamWUpdate(w[lo:hi], gr[lo:hi], m[lo:hi], v[lo:hi], c) })
			} else {
				tensor.AdamWUpdate(w, gr, m, v, c)
			}
		}
	}
}

// adamGrain is the number of elements per goroutine below which AdamW updates a
// parameter on the calling goroutine (small ones then cost no goroutine or allocation).
const adamGrain = 1 << 15

// SGD is torch.optim.SGD with momentum μ, dampening τ and optional Nesterov momentum; the
// weight decay is coupled (added to the gradient):
//
//	d ← g + wd·p
//	b ← d at the first update, else μ·b + (1−τ)·d   (when μ ≠ 0)
//	d ← d + μ·b (Nesterov) or b
//	p ← p − lr·d
type SGD[F tensor.Float] struct {
	optGroups[F]
	Momentum, Dampening float64
	Nesterov            bool
	buf                 [][][]F // momentum buffers [group][param], nil until first update
}

// NewSGD returns SGD over the given groups (dampening 0). Nesterov requires momentum > 0.
func NewSGD[F tensor.Float](momentum float64, nesterov bool, gs ...Group[F]) *SGD[F] {
	if momentum < 0 || (nesterov && momentum == 0) {
		panic(fmt.Sprintf("nn.NewSGD: momentum %g with nesterov %v", momentum, nesterov))
	}
	o := &SGD[F]{optGroups: newGroups("nn.NewSGD", gs), Momentum: momentum, Nesterov: nesterov}
	o.buf = make([][][]F, len(gs))
	for i, g := range gs {
		o.buf[i] = make([][]F, len(g.Params))
	}
	return o
}

// Step applies one SGD update to every trainable parameter.
func (o *SGD[F]) Step() {
	mu, damp := F(o.Momentum), F(1-o.Dampening)
	for gi, g := range o.Groups {
		lr, wd := F(g.LR), F(g.WeightDecay)
		for pi, np := range g.Params {
			p := np.P
			if !p.Trainable() {
				continue
			}
			w, gr := p.Value.Data, p.Grad.Data[:len(p.Value.Data)]
			if o.Momentum == 0 {
				for i := range w {
					w[i] -= lr * (gr[i] + wd*w[i])
				}
				continue
			}
			b := o.buf[gi][pi]
			first := b == nil
			if first {
				b = make([]F, len(w))
				o.buf[gi][pi] = b
			}
			for i := range w {
				d := gr[i] + wd*w[i]
				if first {
					b[i] = d
				} else {
					b[i] = mu*b[i] + damp*d
				}
				if o.Nesterov {
					d += mu * b[i]
				} else {
					d = b[i]
				}
				w[i] -= lr * d
			}
		}
	}
}

// SplitDecay splits params into those that get weight decay (trainable tensors with at
// least two dimensions whose name does not end in "bias" and that are not marked NoDecay)
// and those that do not (biases, 1-D parameters such as norm weights, NoDecay-marked
// parameters). Buffers are left out of both. Use it to build two Groups.
func SplitDecay[F tensor.Float](params []Named[F]) (decay, noDecay []Named[F]) {
	for _, p := range params {
		switch {
		case p.P.Buffer:
		case len(p.P.Value.Shape) < 2 || p.P.NoDecay || strings.HasSuffix(p.Name, "bias"):
			noDecay = append(noDecay, p)
		default:
			decay = append(decay, p)
		}
	}
	return decay, noDecay
}
