package reverse

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/frpt/frpt/tensor"
)

// cgDenomFloor is the lower clamp of the CG step-size denominators (spec §4.2.2).
const cgDenomFloor = 1e-10

// useSmallConv reports whether the small-map kernels (conv_small.go) beat the tensor
// ops for a layer: not when tensor.Conv2dForward takes its im2col GEMM path for many
// channels, nor for strides > 1 with many output channels.
func useSmallConv(cin, cout, kh, kw, stride int) bool {
	if cin*kh*kw >= 64 && cout >= 16 {
		return false
	}
	return stride <= 1 || cout < 8
}

// cgPlan is the per-input-size state of the CG method: the small-map kernels when they
// suit the layer (else nil: the tensor ops on one sample) and idle per-goroutine
// scratch spaces, kept across calls.
type cgPlan struct {
	c     *Conv2D
	s1    tensor.ConvShape // one sample
	small *smallConv
	m, nn int // per-sample output and input lengths

	free scratchList[cgWorker]
}

// cgWorker is one goroutine's scratch: the kernels' buffers and the Gram operator's
// intermediate vectors.
type cgWorker struct {
	p      *cgPlan
	sw     *smallWork
	tmpIn  []float64 // nn
	tmpOut []float64 // m
}

// cgKey is the cache key of the CG plan and the operator-norm estimate.
type cgKey struct {
	kind        string
	h, w, iters int
}

func (c *Conv2D) cgPlan(h, w int) *cgPlan {
	return c.cached(cgKey{kind: "cg-plan", h: h, w: w}, func() any {
		s := c.shape(1, h, w)
		ho, wo := s.OutSize()
		p := &cgPlan{c: c, s1: s, m: c.Cout * ho * wo, nn: c.Cin * h * w}
		if useSmallConv(c.Cin, c.Cout, c.KH, c.KW, s.Stride) {
			p.small = newSmallConv(c.Weight, c.Cout, c.Cin, c.KH, c.KW, s.Stride, c.Pad, h, w)
		}
		return p
	}).(*cgPlan)
}

// work returns a scratch space; release gives it back.
func (p *cgPlan) work() *cgWorker {
	return p.free.get(func() *cgWorker {
		wk := &cgWorker{p: p, tmpIn: make([]float64, p.nn), tmpOut: make([]float64, p.m)}
		if p.small != nil {
			wk.sw = p.small.work()
		}
		return wk
	})
}

func (p *cgPlan) release(wk *cgWorker) { p.free.put(wk) }

// fwd sets y = A x for one sample.
func (wk *cgWorker) fwd(x, y []float64) {
	if p := wk.p; p.small != nil {
		p.small.fwd(x, y, wk.sw)
	} else {
		tensor.Conv2dForward(p.s1, x, p.c.Weight, nil, y)
	}
}

// adj sets x = Aᵀ y for one sample. Conv2dBackward reads its input argument only for
// the weight gradient, which is not requested, so x doubles as that (length-checked)
// argument.
func (wk *cgWorker) adj(y, x []float64) {
	if p := wk.p; p.small != nil {
		p.small.adj(y, x, wk.sw)
	} else {
		tensor.Conv2dBackward(p.s1, x, p.c.Weight, y, x, nil, nil)
	}
}

// gramCols sets out = AᵀA v for one sample.
func (wk *cgWorker) gramCols(v, out []float64) { wk.fwd(v, wk.tmpOut); wk.adj(wk.tmpOut, out) }

// gramRows sets out = AAᵀ v for one sample.
func (wk *cgWorker) gramRows(v, out []float64) { wk.adj(v, wk.tmpIn); wk.fwd(wk.tmpIn, out) }

// convOps applies the bias-free convolution A and its adjoint Aᵀ to a batch of n
// inputs of h×w, writing into caller-provided buffers; samples run in parallel.
type convOps struct {
	p     *cgPlan
	n     int
	m, nn int // per-sample output and input lengths
}

func (c *Conv2D) ops(n, h, w int) convOps {
	p := c.cgPlan(h, w)
	return convOps{p: p, n: n, m: p.m, nn: p.nn}
}

// each runs fn for every sample, spread over tensor.Workers goroutines.
func (o convOps) each(fn func(wk *cgWorker, b int)) {
	tensor.Parallel(o.n, 1, func(lo, hi int) {
		wk := o.p.work()
		for b := lo; b < hi; b++ {
			fn(wk, b)
		}
		o.p.release(wk)
	})
}

// fwd sets y = A x.
func (o convOps) fwd(x, y []float64) {
	o.each(func(wk *cgWorker, b int) { wk.fwd(x[b*o.nn:(b+1)*o.nn], y[b*o.m:(b+1)*o.m]) })
}

// adj sets x = Aᵀ y.
func (o convOps) adj(y, x []float64) {
	o.each(func(wk *cgWorker, b int) { wk.adj(y[b*o.m:(b+1)*o.m], x[b*o.nn:(b+1)*o.nn]) })
}

// gram returns the per-worker Gram operator AᵀA (cols) or AAᵀ for cgBatched.
func (o convOps) gram(cols bool) func() (func(v, out []float64), func()) {
	return func() (func(v, out []float64), func()) {
		wk := o.p.work()
		done := func() { o.p.release(wk) }
		if cols {
			return wk.gramCols, done
		}
		return wk.gramRows, done
	}
}

// opNorm returns the power-iteration estimate of the operator norm ‖A‖ for h×w inputs:
// iters steps of v ← AᵀAv/‖AᵀAv‖ from a seeded standard normal start, ‖A‖ ≈ √‖AᵀAv‖.
// It is cached per input size and iteration count.
func (c *Conv2D) opNorm(h, w, iters int) float64 {
	iters = max(iters, 1)
	p := c.cgPlan(h, w)
	return c.cached(cgKey{kind: "cg-norm", h: h, w: w, iters: iters}, func() any {
		wk := p.work()
		defer p.release(wk)
		rng := rand.New(rand.NewPCG(0x5eed, uint64(h*65599+w)))
		v := make([]float64, p.nn)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		cgScale(v, 1/norm2(v))
		u := make([]float64, p.nn)
		lambda := 0.0
		for it := 0; it < iters; it++ {
			wk.gramCols(v, u)
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
// It returns x and the iterations done.
//
// newApply returns a goroutine's operator, apply(v, out) setting out = M v for one
// sample, and a done func to call when the goroutine has finished with it. The samples
// are independent, so each runs its own loop on its own goroutine, with no
// synchronisation per iteration, and the batch stopping rule is met in rounds: every
// sample advances to the first iteration k ≥ T at which its own residual is below tol
// (or to maxIter), T becomes the largest such k, and the rounds repeat until all
// samples stop at the same k. That k is the first iteration at which every sample is
// below tol, so each sample does exactly the iterations of the lockstep loop, with the
// same arithmetic.
func cgBatched(newApply func() (apply func(v, out []float64), done func()), rhs []float64, batch int, delta float64, maxIter int, tol float64) ([]float64, int) {
	L := len(rhs) / batch
	x := make([]float64, len(rhs))
	r := append([]float64(nil), rhs...)
	p := append([]float64(nil), rhs...)
	mp := make([]float64, len(rhs))
	rs := make([]float64, batch)
	rn := make([]float64, batch)
	its := make([]int, batch)
	for b := 0; b < batch; b++ {
		rs[b] = cgDot(r[b*L:(b+1)*L], r[b*L:(b+1)*L])
		rn[b] = math.Sqrt(rs[b])
	}
	below := func(b int) bool { return math.Sqrt(rs[b])/max(rn[b], 1e-300) < tol }
	step := func(apply func(v, out []float64), b int) {
		pb, mb, xb, rb := p[b*L:(b+1)*L], mp[b*L:(b+1)*L], x[b*L:(b+1)*L], r[b*L:(b+1)*L]
		apply(pb, mb)
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
	T := 0
	for {
		tensor.Parallel(batch, 1, func(lo, hi int) {
			var apply func(v, out []float64)
			for b := lo; b < hi; b++ {
				for its[b] < maxIter && (its[b] < T || !below(b)) {
					if apply == nil {
						var done func()
						apply, done = newApply()
						defer done()
					}
					step(apply, b)
					its[b]++
				}
			}
		})
		next, same := its[0], true
		for _, k := range its {
			next = max(next, k)
			same = same && k == its[0]
		}
		if same {
			return x, next
		}
		T = next
	}
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
	// Per-sample sums of squares of the residual Ax − b and, for lstsq, of Aᵀ(Ax − b),
	// in the workers' scratch: nothing of the batch size is allocated.
	resSq, gSq := make([]float64, o.n), make([]float64, o.n)
	o.each(func(wk *cgWorker, s int) {
		res := wk.tmpOut
		wk.fwd(x[s*o.nn:(s+1)*o.nn], res)
		bs := b[s*o.m : (s+1)*o.m]
		for i := range res {
			res[i] -= bs[i]
		}
		resSq[s] = cgDot(res, res)
		if lstsq {
			wk.adj(res, wk.tmpIn)
			gSq[s] = cgDot(wk.tmpIn, wk.tmpIn)
		}
	})
	sum := func(v []float64) float64 {
		t := 0.0
		for _, e := range v {
			t += e
		}
		return t
	}
	den := normA*norm2(x) + norm2(b)
	if !lstsq {
		return math.Sqrt(sum(resSq))/max(den, 1e-300) <= opt.tauSolve()
	}
	return math.Sqrt(sum(gSq))/max(normA*den, 1e-300) <= opt.tauLstsq()
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
	gramRows, gramCols := o.gram(false), o.gram(true) // AAᵀ, AᵀA

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
