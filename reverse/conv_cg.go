package reverse

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/frpt/frpt/tensor"
)

// cgDenomFloor is the lower clamp of the CG step-size denominators (spec §4.2.2).
const cgDenomFloor = 1e-10

// convOps applies the bias-free convolution A and its adjoint Aᵀ to a batch of n
// inputs of h×w, writing into caller-provided buffers.
type convOps struct {
	c     *Conv2D
	s     tensor.ConvShape
	m, nn int // per-sample output and input lengths
}

func (c *Conv2D) ops(n, h, w int) convOps {
	s := c.shape(n, h, w)
	ho, wo := s.OutSize()
	return convOps{c: c, s: s, m: c.Cout * ho * wo, nn: c.Cin * h * w}
}

// fwd sets y = A x.
func (o convOps) fwd(x, y []float64) { tensor.Conv2dForward(o.s, x, o.c.Weight, nil, y) }

// adj sets x = Aᵀ y. Conv2dBackward reads its input argument only for the weight
// gradient, which is not requested, so x doubles as that (length-checked) argument.
func (o convOps) adj(y, x []float64) { tensor.Conv2dBackward(o.s, x, o.c.Weight, y, x, nil, nil) }

// opNorm returns the power-iteration estimate of the operator norm ‖A‖ for h×w inputs:
// iters steps of v ← AᵀAv/‖AᵀAv‖ from a seeded standard normal start, ‖A‖ ≈ √‖AᵀAv‖.
// It is cached per input size and iteration count.
func (c *Conv2D) opNorm(h, w, iters int) float64 {
	iters = max(iters, 1)
	return c.cached(fmt.Sprintf("cg-norm/%dx%d/%d", h, w, iters), func() any {
		o := c.ops(1, h, w)
		rng := rand.New(rand.NewPCG(0x5eed, uint64(h*65599+w)))
		v := make([]float64, o.nn)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		cgScale(v, 1/norm2(v))
		y := make([]float64, o.m)
		u := make([]float64, o.nn)
		lambda := 0.0
		for it := 0; it < iters; it++ {
			o.fwd(v, y)
			o.adj(y, u)
			lambda = norm2(u)
			if lambda == 0 || math.IsNaN(lambda) || math.IsInf(lambda, 0) {
				break
			}
			copy(v, u)
			cgScale(v, 1/lambda)
		}
		return math.Sqrt(lambda)
	}).(float64)
}

func cgScale(x []float64, a float64) {
	for i := range x {
		x[i] *= a
	}
}

func cgDot(x, y []float64) float64 {
	s := 0.0
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

// cgBatched solves (M + δI) x_b = rhs_b for every sample b (rows of length L) by
// conjugate gradients from x = 0 with per-sample step sizes, denominators clamped at
// cgDenomFloor, stopping when max_b ‖r_b‖/‖rhs_b‖ < tol or after maxIter iterations.
// apply sets out = M v for a whole batch. It returns x and the iterations done.
func cgBatched(apply func(v, out []float64), rhs []float64, batch int, delta float64, maxIter int, tol float64) ([]float64, int) {
	L := len(rhs) / batch
	x := make([]float64, len(rhs))
	r := append([]float64(nil), rhs...)
	p := append([]float64(nil), rhs...)
	mp := make([]float64, len(rhs))
	rs := make([]float64, batch)
	rn := make([]float64, batch)
	for b := 0; b < batch; b++ {
		rs[b] = cgDot(r[b*L:(b+1)*L], r[b*L:(b+1)*L])
		rn[b] = math.Sqrt(rs[b])
	}
	converged := func() bool {
		worst := 0.0
		for b := 0; b < batch; b++ {
			worst = max(worst, math.Sqrt(rs[b])/max(rn[b], 1e-300))
		}
		return worst < tol
	}
	it := 0
	for ; it < maxIter && !converged(); it++ {
		apply(p, mp)
		tensor.Parallel(batch, 1, func(lo, hi int) {
			for b := lo; b < hi; b++ {
				pb, mb, xb, rb := p[b*L:(b+1)*L], mp[b*L:(b+1)*L], x[b*L:(b+1)*L], r[b*L:(b+1)*L]
				if delta != 0 {
					for i := range mb {
						mb[i] += delta * pb[i]
					}
				}
				alpha := rs[b] / max(cgDot(pb, mb), cgDenomFloor)
				rsNew := 0.0
				for i := range xb {
					xb[i] += alpha * pb[i]
					rb[i] -= alpha * mb[i]
					rsNew += rb[i] * rb[i]
				}
				beta := rsNew / max(rs[b], cgDenomFloor)
				for i := range pb {
					pb[i] = rb[i] + beta*pb[i]
				}
				rs[b] = rsNew
			}
		})
	}
	return x, it
}

// convReliable is the batch-level conv-operator reliability test of spec §2.2: finite,
// ‖x‖∞ ≤ MaxAbs, ‖x − x₀‖ ≤ MaxDevRatio·‖x₀‖ (waived when ‖x₀‖ ≤ FloorConv·√len), and the
// "solve" test ‖Ax−b‖/(‖A‖‖x‖+‖b‖) ≤ τ_s or, with lstsq, the "lstsq" test
// ‖Aᵀ(Ax−b)‖/(‖A‖(‖A‖‖x‖+‖b‖)) ≤ τ_l, all norms over the whole batch, ‖A‖ the
// power-iteration estimate.
func (o convOps) reliable(x, b, anchor []float64, normA float64, lstsq bool, opt Options) bool {
	if !finiteBounded(x, opt.MaxAbs) || !deviationOK(x, anchor, opt.MaxDevRatio, opt.FloorConv) {
		return false
	}
	res := make([]float64, len(b))
	o.fwd(x, res)
	for i := range res {
		res[i] -= b[i]
	}
	den := normA*norm2(x) + norm2(b)
	if !lstsq {
		return norm2(res)/max(den, 1e-300) <= opt.tauSolve()
	}
	g := make([]float64, len(x))
	o.adj(res, g)
	return norm2(g)/max(normA*den, 1e-300) <= opt.tauLstsq()
}

// cgDamping is the fallback damping δ = max((‖A‖/κ)², ε, (max_b‖r_b‖/(2μ))²) with the
// batch margin μ = MaxAbs − ‖x₀‖∞ (last term dropped when μ ≤ 0).
func cgDamping(normA float64, r, anchor []float64, batch int, opt Options) float64 {
	eps := math.Nextafter(1, 2) - 1
	delta := max((normA/opt.Kappa)*(normA/opt.Kappa), eps)
	maxAbs := 0.0
	for _, v := range anchor {
		maxAbs = max(maxAbs, math.Abs(v))
	}
	if mu := opt.MaxAbs - maxAbs; mu > 0 {
		L := len(r) / batch
		worst := 0.0
		for b := 0; b < batch; b++ {
			worst = max(worst, norm2(r[b*L:(b+1)*L]))
		}
		g := worst / (2 * mu)
		delta = max(delta, g*g)
	}
	return delta
}

// reverseCG is the matrix-free conjugate-gradient method (spec §4.2.2). b is the
// bias-free target.
//
// Shrink (Cin·H·W ≥ Cout·Ho·Wo): CG on (AAᵀ)β = r, r = b − Ax₀, x̂ = x₀ + Aᵀβ; if the
// batch fails the "solve" test (with Regularize), β is re-solved with damping δ
// (cgDamping). Expand: CG on the normal equations AᵀAx = Aᵀb from x = 0 (anchor-free,
// early stopping regularises); if the batch fails the "lstsq" test, x̂ = x₀ + d with
// (AᵀA+δI)d = Aᵀ(b − Ax₀). CG runs opt.CGMaxIter iterations at most with tolerance
// opt.CGTol; ‖A‖ is the cached power-iteration estimate (opt.PowerIters). A and Aᵀ are
// the direct and transposed convolutions, so any stride and padding work. A failed
// test sends the whole batch to the fallback (Diag.Fallbacks = batch size).
func (c *Conv2D) reverseCG(anchor []float64, n, h, w int, b []float64, opt Options) ([]float64, Diag, error) {
	if n == 0 {
		return []float64{}, Diag{Method: "conv-cg"}, nil
	}
	o := c.ops(n, h, w)
	maxIter := opt.CGMaxIter
	if maxIter <= 0 {
		maxIter = 100
	}
	tol := opt.CGTol
	if tol <= 0 {
		tol = 1e-9
	}
	normA := c.opNorm(h, w, opt.PowerIters)
	tmpIn := make([]float64, n*o.nn)
	tmpOut := make([]float64, n*o.m)
	gramRows := func(v, out []float64) { o.adj(v, tmpIn); o.fwd(tmpIn, out) }   // AAᵀ
	gramCols := func(v, out []float64) { o.fwd(v, tmpOut); o.adj(tmpOut, out) } // AᵀA

	// r = b − A x₀
	r := make([]float64, n*o.m)
	o.fwd(anchor, r)
	for i := range r {
		r[i] = b[i] - r[i]
	}
	var x []float64
	d := Diag{}
	if o.nn >= o.m {
		d.Method = "conv-cg-shrink"
		x = make([]float64, n*o.nn)
		beta, _ := cgBatched(gramRows, r, n, 0, maxIter, tol)
		o.adj(beta, x)
		for i := range x {
			x[i] += anchor[i]
		}
		if opt.Regularize && !o.reliable(x, b, anchor, normA, false, opt) {
			delta := cgDamping(normA, r, anchor, n, opt)
			beta, _ = cgBatched(gramRows, r, n, delta, maxIter, tol)
			o.adj(beta, x)
			for i := range x {
				x[i] += anchor[i]
			}
			d.Fallbacks = n
		}
	} else {
		d.Method = "conv-cg-expand"
		rhs := make([]float64, n*o.nn)
		o.adj(b, rhs)
		x, _ = cgBatched(gramCols, rhs, n, 0, maxIter, tol)
		if opt.Regularize && !o.reliable(x, b, anchor, normA, true, opt) {
			delta := cgDamping(normA, r, anchor, n, opt)
			o.adj(r, rhs)
			dx, _ := cgBatched(gramCols, rhs, n, delta, maxIter, tol)
			for i := range x {
				x[i] = anchor[i] + dx[i]
			}
			d.Fallbacks = n
		}
	}
	if !allFinite(x) {
		return nil, d, fmt.Errorf("reverse.Conv2D %s: non-finite solution (%s, ‖A‖≈%g)", ConvCG, d.Method, normA)
	}
	return x, d, nil
}
