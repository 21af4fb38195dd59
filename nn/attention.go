package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/frpt/frpt/tensor"
)

// MultiheadAttention is self-attention on tokens [N, L, D] with PyTorch's
// nn.MultiheadAttention(d, heads, batch_first=True) semantics for query = key = value = x,
// no mask and no dropout:
//
//	[Q K V] = x W_inᵀ + b_in                  (W_in = in_proj_weight [3D, D])
//	O_h     = softmax(Q_h K_hᵀ / √(D/H)) V_h  for each head h (columns h·D/H … (h+1)·D/H)
//	y       = concat_h(O_h) W_outᵀ + b_out    (out_proj)
//
// Every matrix product goes through tensor.Gemm, one per (sample, head), with strided
// views into the packed QKV buffer.
type MultiheadAttention[F tensor.Float] struct {
	InProjWeight, InProjBias *Param[F]
	OutProj                  *Linear[F]
	D, Heads                 int

	x    *tensor.T[F] // saved input [N, L, D]
	n, l int
	qkv  []F          // [N, L, 3D] projections, saved
	p    []F          // [N, H, L, L] attention probabilities, saved
	attn *tensor.T[F] // [N, L, D] concatenated head outputs (input of out_proj)
	dx   *tensor.T[F]
}

// NewMultiheadAttention returns self-attention over width d with the given number of
// heads, initialised as PyTorch does: in_proj_weight Xavier-uniform, in_proj_bias 0,
// out_proj.weight with Linear's default init, out_proj.bias 0.
func NewMultiheadAttention[F tensor.Float](d, heads int, rng *rand.Rand) *MultiheadAttention[F] {
	if d <= 0 || heads <= 0 || d%heads != 0 {
		panic(fmt.Sprintf("nn.NewMultiheadAttention: width %d is not divisible by %d heads", d, heads))
	}
	a := &MultiheadAttention[F]{InProjWeight: NewParam[F](3*d, d), InProjBias: NewParam[F](3 * d), D: d, Heads: heads}
	a.InProjBias.NoDecay = true
	// PyTorch creates out_proj (default Linear init) before _reset_parameters draws the
	// Xavier in_proj_weight; the draw order is kept for the sake of reproducibility.
	a.OutProj = NewLinear[F](d, d, true, rng)
	XavierUniform(a.InProjWeight.Value, d, 3*d, rng)
	a.OutProj.Bias.Value.Zero()
	return a
}

// headDim is D/Heads.
func (a *MultiheadAttention[F]) headDim() int { return a.D / a.Heads }

// Forward computes self-attention of x [N, L, D] and saves the projections and the
// attention probabilities for Backward.
func (a *MultiheadAttention[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	if len(x.Shape) != 3 || x.Shape[2] != a.D {
		panic(fmt.Sprintf("nn.MultiheadAttention: input shape %v, want [N, L, %d]", x.Shape, a.D))
	}
	n, l, d, h, hd := x.Shape[0], x.Shape[1], a.D, a.Heads, a.headDim()
	a.x, a.n, a.l = x, n, l
	a.qkv = reuseSlice(a.qkv, n*l*3*d)
	a.p = reuseSlice(a.p, n*h*l*l)
	a.attn = tensor.Ensure(a.attn, n, l, d)

	// QKV projection: one Gemm over all N·L tokens.
	rows := n * l
	tensor.GemmBias(false, true, rows, 3*d, d, x.Data, d, a.InProjWeight.Value.Data, d, a.InProjBias.Value.Data, a.qkv, 3*d)

	scale := F(1 / math.Sqrt(float64(hd)))
	qkv, p, attn := a.qkv, a.p, a.attn.Data
	tensor.Parallel(n*h, 1, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, hh := bh/h, bh%h
			base := b * l * 3 * d
			q := qkv[base+hh*hd:]
			k := qkv[base+d+hh*hd:]
			v := qkv[base+2*d+hh*hd:]
			pm := p[bh*l*l : (bh+1)*l*l]
			tensor.Gemm(false, true, l, l, hd, scale, q, 3*d, k, 3*d, 0, pm, l)
			SoftmaxRows(pm, pm, l)
			tensor.Gemm(false, false, l, hd, l, 1, pm, l, v, 3*d, 0, attn[b*l*d+hh*hd:], d)
		}
	})
	return a.OutProj.Forward(a.attn)
}

// Backward adds the gradients of in_proj_weight, in_proj_bias and out_proj and returns
// the gradient with respect to x.
func (a *MultiheadAttention[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	if a.x == nil {
		panic("nn.MultiheadAttention.Backward: called before Forward")
	}
	dattn := a.OutProj.Backward(dy).Data
	n, l, d, h, hd := a.n, a.l, a.D, a.Heads, a.headDim()
	// dQKV [N, L, 3D] and the score gradients [N, H, L, L] are needed only here: they come
	// from the shared free list and go back to it (every element is written before it is
	// read), so the attention layers of a deep model share one pair.
	dqkv, dp := getScratch[F](n*l*3*d), getScratch[F](n*h*l*l)
	defer putScratch(dqkv)
	scale := F(1 / math.Sqrt(float64(hd)))
	qkv, p := a.qkv, a.p
	tensor.Parallel(n*h, 1, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, hh := bh/h, bh%h
			base := b * l * 3 * d
			oq, ok, ov := base+hh*hd, base+d+hh*hd, base+2*d+hh*hd
			q, k, v := qkv[oq:], qkv[ok:], qkv[ov:]
			dq, dk, dv := dqkv[oq:], dqkv[ok:], dqkv[ov:]
			do := dattn[b*l*d+hh*hd:]
			pm := p[bh*l*l : (bh+1)*l*l]
			dpm := dp[bh*l*l : (bh+1)*l*l]
			// O = P V: dP = dO Vᵀ, dV = Pᵀ dO.
			tensor.Gemm(false, true, l, l, hd, 1, do, d, v, 3*d, 0, dpm, l)
			tensor.Gemm(true, false, l, hd, l, 1, pm, l, do, d, 0, dv, 3*d)
			// P = softmax(S): dS = P ⊙ (dP − rowsum(dP ⊙ P)).
			SoftmaxRowsBackward(dpm, dpm, pm, l)
			// S = scale · Q Kᵀ: dQ = (scale · dS) K, dK = (scale · dS)ᵀ Q. Scaling dS
			// first rounds each scale · dS once, as Gemm's alpha would, and leaves
			// products with alpha 1, which take the narrow 16-column kernels.
			tensor.Scale(scale, dpm)
			tensor.Gemm(false, false, l, hd, l, 1, dpm, l, k, 3*d, 0, dq, 3*d)
			tensor.Gemm(true, false, l, hd, l, 1, dpm, l, q, 3*d, 0, dk, 3*d)
		}
	})
	putScratch(dp)
	a.OutProj.ReleaseGrad()
	rows := n * l
	if !a.InProjWeight.Frozen {
		tensor.Gemm(true, false, 3*d, d, rows, 1, dqkv, 3*d, a.x.Data, d, 1, a.InProjWeight.Grad.Data, d)
	}
	if !a.InProjBias.Frozen {
		tensor.AddRowSums(a.InProjBias.Grad.Data, dqkv[:rows*3*d])
	}
	a.dx = ensureGrad(a.dx, n, l, d)
	tensor.Gemm(false, false, rows, d, 3*d, 1, dqkv, 3*d, a.InProjWeight.Value.Data, d, 0, a.dx.Data, d)
	return a.dx
}

// ReleaseGrad hands the input-gradient buffer of the last Backward to a shared free list,
// from which the next Backward of any layer may take it: the gradient Backward returned
// must not be used afterwards.
func (a *MultiheadAttention[F]) ReleaseGrad() { releaseGrad(&a.dx) }

// Params returns in_proj_weight, in_proj_bias, out_proj.weight and out_proj.bias
// (PyTorch state_dict order).
func (a *MultiheadAttention[F]) Params() []Named[F] {
	ps := []Named[F]{{"in_proj_weight", a.InProjWeight}, {"in_proj_bias", a.InProjBias}}
	return append(ps, Prefix("out_proj", a.OutProj.Params())...)
}

// AttentionWeights returns the attention probabilities of the last Forward as a
// [N, Heads, L, L] tensor sharing the layer's buffer (valid until the next Forward).
func (a *MultiheadAttention[F]) AttentionWeights() *tensor.T[F] {
	return tensor.FromData(a.p[:a.n*a.Heads*a.l*a.l], a.n, a.Heads, a.l, a.l)
}

// reuseSlice returns s resized to n elements, reusing its storage when large enough.
func reuseSlice[F tensor.Float](s []F, n int) []F {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]F, n)
}
