package reverse

import (
	"fmt"
	"math"
	"slices"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
	"gonum.org/v1/gonum/mat"
)

// CompositeResult reports a composite reverse solve.
type CompositeResult struct {
	Method   string    // "linearized" or "vjp"
	History  []float64 // mean relative error ‖Φ(z) − ŷ‖/‖ŷ‖ per iteration
	Accepted int       // accepted steps
	Guarded  bool      // the final guard returned the anchor for the whole batch
}

// Composite reverses a block y = Φ(x) (a ResNet BasicBlock, a transformer block, ...)
// for a batch (spec §4.8): from the anchor x0 (the block's forward input) it looks for z
// with Φ(z) ≈ ŷ close to x0. The block runs in eval mode with frozen parameters during
// the solve (restored afterwards). Method "auto" picks the linearised Gauss–Newton solver
// when numel(x0)·numel(ŷ) ≤ opt.CompositeJacobianLimit and the VJP+Adam solver otherwise,
// falling back to VJP when the linearised solver fails.
func Composite[F tensor.Float](block nn.Module[F], x0, target *tensor.T[F], opt Options) (*tensor.T[F], CompositeResult, error) {
	params := block.Params()
	saved := make([]bool, len(params))
	for i, p := range params {
		saved[i] = p.P.Frozen
		p.P.Frozen = true
	}
	nn.SetTraining(block, false)
	defer func() {
		for i, p := range params {
			p.P.Frozen = saved[i]
		}
	}()
	y := block.Forward(x0)
	if !tensor.SameShape(y, target) {
		return nil, CompositeResult{}, fmt.Errorf("reverse.Composite: block output %v, target %v", y.Shape, target.Shape)
	}
	method := opt.CompositeMethod
	if method == "" || method == "auto" {
		method = "vjp"
		if float64(x0.Numel())*float64(target.Numel()) <= opt.CompositeJacobianLimit {
			method = "linearized"
		}
	}
	if method == "linearized" {
		z, res := compositeGN(block, x0, target, opt)
		if allFinite(res.History) {
			return z, res, nil
		}
		method = "vjp"
		y = block.Forward(x0) // the solver's forward passes reused y's buffer
	}
	if method != "vjp" {
		return nil, CompositeResult{}, fmt.Errorf("reverse.Composite: unknown method %q (want auto, linearized or vjp)", opt.CompositeMethod)
	}
	z, res := compositeVJPActive(block, x0, y, target, opt)
	return z, res, nil
}

// compositeVJPActive runs the VJP solver on the samples whose forward output differs from
// their target and returns the anchor for the others. In eval mode the samples of a
// block are independent, and for a sample with Φ(x0)_b = ŷ_b the objective's gradient is
// exactly zero, so Adam never moves it: leaving it out changes nothing except the cost.
// (With the nearest embedding every correctly classified sample is such a case, so on a
// trained model most of the batch is skipped.) Mean errors and gradient scales still
// count the whole batch, so stopping, best-iterate choice and the guard are those of
// the full-batch solve.
func compositeVJPActive[F tensor.Float](block nn.Module[F], x0, y, target *tensor.T[F], opt Options) (*tensor.T[F], CompositeResult) {
	B := x0.Shape[0]
	m := samples(target.Numel(), B)
	var active []int
	for b := 0; b < B; b++ {
		if !slices.Equal(y.Data[b*m:(b+1)*m], target.Data[b*m:(b+1)*m]) {
			active = append(active, b)
		}
	}
	if len(active) == B {
		return compositeVJP(block, x0, target, B, opt)
	}
	// The skipped samples stay at x0: the final guard only checks that they are finite
	// and bounded.
	idle := make([]int, 0, B-len(active))
	for b, a := 0, 0; b < B; b++ {
		if a < len(active) && active[a] == b {
			a++
			continue
		}
		idle = append(idle, b)
	}
	x0i := gatherSamples(x0, idle)
	idleOK := iterateReliable(x0i, x0i, opt)
	if len(active) == 0 {
		return x0.Clone(), CompositeResult{Method: "vjp", History: []float64{0}, Guarded: !idleOK}
	}
	za, res := compositeVJP(block, gatherSamples(x0, active), gatherSamples(target, active), B, opt)
	if res.Guarded || !idleOK {
		res.Guarded = true
		return x0.Clone(), res
	}
	z := x0.Clone()
	n := samples(x0.Numel(), B)
	for i, b := range active {
		copy(z.Data[b*n:(b+1)*n], za.Data[i*n:(i+1)*n])
	}
	return z, res
}

// gatherSamples returns the samples idx of a batch tensor, in that order.
func gatherSamples[F tensor.Float](t *tensor.T[F], idx []int) *tensor.T[F] {
	shape := slices.Clone(t.Shape)
	shape[0] = len(idx)
	out := tensor.New[F](shape...)
	n := samples(t.Numel(), t.Shape[0])
	for i, b := range idx {
		copy(out.Data[i*n:(i+1)*n], t.Data[b*n:(b+1)*n])
	}
	return out
}

func allFinite(h []float64) bool {
	for _, v := range h {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// sampleView splits a flat batch into per-sample slices.
func samples(n, b int) int { return n / b }

// relErrors returns per-sample ‖Φ(z)_b − ŷ_b‖ / max(‖ŷ_b‖, ε) and the output.
func relErrors[F tensor.Float](block nn.Module[F], z, target *tensor.T[F]) ([]float64, *tensor.T[F]) {
	y := block.Forward(z)
	B := target.Shape[0]
	m := samples(target.Numel(), B)
	eps := epsOf[F]()
	errs := make([]float64, B)
	for b := 0; b < B; b++ {
		var d, t float64
		for i := b * m; i < (b+1)*m; i++ {
			diff := float64(y.Data[i]) - float64(target.Data[i])
			d += diff * diff
			t += float64(target.Data[i]) * float64(target.Data[i])
		}
		errs[b] = math.Sqrt(d) / max(math.Sqrt(t), eps)
	}
	return errs, y
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

func mean(v []float64) float64 { return sum(v) / float64(max(len(v), 1)) }

func epsOf[F tensor.Float]() float64 {
	var f F
	if _, ok := any(f).(float32); ok {
		return float64(math.Nextafter32(1, 2) - 1)
	}
	return math.Nextafter(1, 2) - 1
}

// iterateReliable is the §4.8.1 test: finite, ‖z‖∞ ≤ MaxAbs and per sample
// ‖z_b − x0_b‖ ≤ MaxDevRatio·‖x0_b‖ unless ‖x0_b‖ ≤ FloorComposite·√n_b.
func iterateReliable[F tensor.Float](z, x0 *tensor.T[F], opt Options) bool {
	B := x0.Shape[0]
	n := samples(x0.Numel(), B)
	for b := 0; b < B; b++ {
		var d, r float64
		for i := b * n; i < (b+1)*n; i++ {
			v := float64(z.Data[i])
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > opt.MaxAbs {
				return false
			}
			a := float64(x0.Data[i])
			d += (v - a) * (v - a)
			r += a * a
		}
		r = math.Sqrt(r)
		if r > opt.FloorComposite*math.Sqrt(float64(n)) && math.Sqrt(d) > opt.MaxDevRatio*r {
			return false
		}
	}
	return true
}

// compositeVJP is the matrix-free solver of §4.8.3: Adam (lr min(damping, 1e-2), betas
// 0.9/0.999, eps 1e-8) on J(z) = mean_b (‖Φ(z)_b − ŷ_b‖/max(‖ŷ_b‖, ε))², gradients by one
// backward pass; per sample the step is limited to CompositeMaxStep and the iterate
// projected onto the ball ‖z_b − x0_b‖ ≤ MaxDevRatio·max(‖x0_b‖, FloorComposite·√n_b).
// Returns the best iterate; if it fails §4.8.1 the whole batch gets the anchor. total is
// the size of the batch the mean runs over (≥ B when samples with zero residual were left
// out, see compositeVJPActive).
func compositeVJP[F tensor.Float](block nn.Module[F], x0, target *tensor.T[F], total int, opt Options) (*tensor.T[F], CompositeResult) {
	res := CompositeResult{Method: "vjp"}
	B := x0.Shape[0]
	n := samples(x0.Numel(), B)
	m := samples(target.Numel(), B)
	eps := epsOf[F]()
	lr := min(opt.CompositeDamping, 1e-2)
	const b1, b2, adamEps = 0.9, 0.999, 1e-8
	z := x0.Clone()
	best := x0.Clone()
	bestErr := math.Inf(1)
	mom := make([]float64, z.Numel())
	vel := make([]float64, z.Numel())
	prev := make([]float64, z.Numel())
	tn := make([]float64, B)
	for b := 0; b < B; b++ {
		s := 0.0
		for i := b * m; i < (b+1)*m; i++ {
			s += float64(target.Data[i]) * float64(target.Data[i])
		}
		tn[b] = max(math.Sqrt(s), eps)
	}
	radius := make([]float64, B)
	for b := 0; b < B; b++ {
		s := 0.0
		for i := b * n; i < (b+1)*n; i++ {
			s += float64(x0.Data[i]) * float64(x0.Data[i])
		}
		radius[b] = opt.MaxDevRatio * max(math.Sqrt(s), opt.FloorComposite*math.Sqrt(float64(n)))
	}
	dy := tensor.New[F](target.Shape...)
	for it := 0; it <= opt.CompositeIter; it++ {
		errs, y := relErrors(block, z, target)
		e := sum(errs) / float64(total)
		res.History = append(res.History, e)
		if e < bestErr {
			bestErr = e
			copy(best.Data, z.Data)
		}
		if it == opt.CompositeIter || e <= opt.CompositeTol || math.IsNaN(e) || math.IsInf(e, 0) {
			break
		}
		for b := 0; b < B; b++ {
			c := 2 / (float64(total) * tn[b] * tn[b])
			for i := b * m; i < (b+1)*m; i++ {
				dy.Data[i] = F(c * (float64(y.Data[i]) - float64(target.Data[i])))
			}
		}
		g := block.Backward(dy)
		if !g.AllFinite() {
			break
		}
		t := float64(it + 1)
		c1, c2 := 1-math.Pow(b1, t), 1-math.Pow(b2, t) // bias corrections, once per step
		finite := true
		for b := 0; b < B; b++ {
			// One pass per sample: remember the iterate, take the Adam step, measure it.
			var step, dev float64
			for i := b * n; i < (b+1)*n; i++ {
				old := float64(z.Data[i])
				prev[i] = old
				gi := float64(g.Data[i])
				mom[i] = b1*mom[i] + (1-b1)*gi
				vel[i] = b2*vel[i] + (1-b2)*gi*gi
				mh := mom[i] / c1
				vh := vel[i] / c2
				nz := F(old - lr*mh/(math.Sqrt(vh)+adamEps))
				z.Data[i] = nz
				d := float64(nz) - old
				step += d * d
			}
			if step = math.Sqrt(step); step > opt.CompositeMaxStep {
				f := opt.CompositeMaxStep / step
				for i := b * n; i < (b+1)*n; i++ {
					z.Data[i] = F(prev[i] + f*(float64(z.Data[i])-prev[i]))
				}
			}
			for i := b * n; i < (b+1)*n; i++ {
				d := float64(z.Data[i]) - float64(x0.Data[i])
				dev += d * d
			}
			if dev = math.Sqrt(dev); dev > radius[b] {
				f := radius[b] / dev
				for i := b * n; i < (b+1)*n; i++ {
					z.Data[i] = F(float64(x0.Data[i]) + f*(float64(z.Data[i])-float64(x0.Data[i])))
				}
			}
			// A finite dev means every coordinate was finite before the projection, and
			// the projection of finite values is finite; otherwise look at the values.
			if math.IsNaN(dev) || math.IsInf(dev, 0) {
				for i := b * n; i < (b+1)*n; i++ {
					if v := float64(z.Data[i]); math.IsNaN(v) || math.IsInf(v, 0) {
						finite = false
					}
				}
			}
		}
		if !finite {
			for i := range prev {
				z.Data[i] = F(prev[i])
			}
			break
		}
		res.Accepted++
	}
	if !iterateReliable(best, x0, opt) {
		res.Guarded = true
		return x0.Clone(), res
	}
	return best, res
}

// jacobian builds the per-sample Jacobian blocks J_b (m×n, row-major) of Φ at z with m
// backward passes, each seeding output unit i of every sample at once (samples are
// independent, so the full Jacobian is block-diagonal).
func jacobian[F tensor.Float](block nn.Module[F], z *tensor.T[F], outShape []int) [][]float64 {
	B := z.Shape[0]
	n := samples(z.Numel(), B)
	m := samples(tensor.Numel(outShape), B)
	J := make([][]float64, B)
	for b := range J {
		J[b] = make([]float64, m*n)
	}
	dy := tensor.New[F](outShape...)
	for i := 0; i < m; i++ {
		block.Forward(z)
		dy.Zero()
		for b := 0; b < B; b++ {
			dy.Data[b*m+i] = 1
		}
		g := block.Backward(dy)
		for b := 0; b < B; b++ {
			for j := 0; j < n; j++ {
				J[b][i*n+j] = float64(g.Data[b*n+j])
			}
		}
	}
	return J
}

// compositeGN is the linearised Gauss–Newton solver of §4.8.2 with the centred-Tikhonov
// step (float64): δ = argmin ‖Jδ − r‖² + α‖z + δ − x0‖², α = max((σ₁/κ)², ε·max(σ₁², 1),
// (‖b_a‖/(2·min radius))²) with b_a = r + J(z − x0), followed by backtracking (steps
// d·0.8^k, 8 trials, d = damping; accept the first that passes §4.8.1 and strictly lowers
// ‖ŷ − Φ‖). Unless opt.CompositeOriginalGNQuirk is set, the plain min-norm GN step
// δ = lstsq(J, r) is tried first (the original can never accept it, spec §10.3).
func compositeGN[F tensor.Float](block nn.Module[F], x0, target *tensor.T[F], opt Options) (*tensor.T[F], CompositeResult) {
	res := CompositeResult{Method: "linearized"}
	B := x0.Shape[0]
	n := samples(x0.Numel(), B)
	m := samples(target.Numel(), B)
	z := x0.Clone()
	totalNorm := func(y *tensor.T[F]) float64 {
		s := 0.0
		for i := range y.Data {
			d := float64(target.Data[i]) - float64(y.Data[i])
			s += d * d
		}
		return math.Sqrt(s)
	}
	tnorm := 0.0
	for _, v := range target.Data {
		tnorm += float64(v) * float64(v)
	}
	tnorm = max(math.Sqrt(tnorm), epsOf[float64]())
	x0Inf, x0Norm := 0.0, 0.0
	for _, v := range x0.Data {
		x0Inf = max(x0Inf, math.Abs(float64(v)))
		x0Norm += float64(v) * float64(v)
	}
	x0Norm = math.Sqrt(x0Norm)
	for it := 0; it < opt.CompositeIter; it++ {
		y := block.Forward(z)
		r := make([]float64, target.Numel())
		for i := range r {
			r[i] = float64(target.Data[i]) - float64(y.Data[i])
		}
		e := norm2(r)
		res.History = append(res.History, e/tnorm)
		if math.IsNaN(e) || e <= opt.CompositeTol*tnorm {
			break
		}
		J := jacobian(block, z, target.Shape)
		delta := make([]float64, z.Numel())
		if !opt.CompositeOriginalGNQuirk {
			if d, ok := plainGNStep(J, r, n, m, opt); ok {
				copy(delta, d)
				if tryStep(block, z, delta, x0, target, e, opt, totalNorm) {
					res.Accepted++
					continue
				}
			}
		}
		d, ok := tikhonovGNStep(J, r, z, x0, n, m, x0Inf, x0Norm, opt)
		if !ok {
			break // rejected step: terminate (§4.8.2 step 4)
		}
		copy(delta, d)
		if !tryStep(block, z, delta, x0, target, e, opt, totalNorm) {
			break // rejected step: terminate (§4.8.2 step 4)
		}
		res.Accepted++
	}
	errs, _ := relErrors(block, z, target)
	res.History = append(res.History, mean(errs))
	if !iterateReliable(z, x0, opt) {
		res.Guarded = true
		return x0.Clone(), res
	}
	return z, res
}

// plainGNStep is the min-norm least-squares step per sample block with the original's
// step check (finite, ‖δ‖∞ ≤ MaxAbs, ‖J‖_F‖δ‖/‖r‖ ≤ MaxDevRatio, optimality ≤ 1e-3).
func plainGNStep(J [][]float64, r []float64, n, m int, opt Options) ([]float64, bool) {
	delta := make([]float64, len(J)*n)
	var jf2, dn2, rn2, gn2 float64
	for b, Jb := range J {
		A := mat.NewDense(m, n, Jb)
		var svd mat.SVD
		if !svd.Factorize(A, mat.SVDThin) {
			return nil, false
		}
		rb := mat.NewVecDense(m, append([]float64(nil), r[b*m:(b+1)*m]...))
		var x mat.Dense
		rank := svd.Rank(1e-12)
		if rank == 0 {
			return nil, false
		}
		svd.SolveTo(&x, rb, rank)
		for j := 0; j < n; j++ {
			delta[b*n+j] = x.At(j, 0)
		}
		op := newDenseOp(Jb, m, n)
		jd := op.apply(delta[b*n : (b+1)*n])
		for i := range jd {
			jd[i] -= r[b*m+i]
		}
		g := op.applyT(jd)
		jf2 += op.normF * op.normF
		dn2 += norm2(delta[b*n:(b+1)*n]) * norm2(delta[b*n:(b+1)*n])
		rn2 += norm2(r[b*m:(b+1)*m]) * norm2(r[b*m:(b+1)*m])
		gn2 += norm2(g) * norm2(g)
	}
	jf, dn, rn := math.Sqrt(jf2), math.Sqrt(dn2), math.Sqrt(rn2)
	if !finiteBounded(delta, opt.MaxAbs) || (rn > 0 && jf*dn/rn > opt.MaxDevRatio) {
		return nil, false
	}
	return delta, math.Sqrt(gn2)/(jf*(jf*dn+rn)+1e-300) <= 1e-3
}

// tikhonovGNStep solves (JᵀJ + αI)δ = Jᵀr − α e_z per sample block with one α for the
// batch (the batch is one flat vector in the spec) and runs the step check.
func tikhonovGNStep[F tensor.Float](J [][]float64, r []float64, z, x0 *tensor.T[F], n, m int, x0Inf, x0Norm float64, opt Options) ([]float64, bool) {
	ez := make([]float64, z.Numel())
	for i := range ez {
		ez[i] = float64(z.Data[i]) - float64(x0.Data[i])
	}
	s1, jf2, ba2 := 0.0, 0.0, 0.0
	for b, Jb := range J {
		A := mat.NewDense(m, n, Jb)
		var svd mat.SVD
		op := newDenseOp(Jb, m, n)
		if svd.Factorize(A, mat.SVDNone) {
			s1 = max(s1, svd.Values(nil)[0])
		} else {
			s1 = max(s1, op.normF)
		}
		jf2 += op.normF * op.normF
		je := op.apply(ez[b*n : (b+1)*n])
		for i := range je {
			v := r[b*m+i] + je[i]
			ba2 += v * v
		}
	}
	var radii []float64
	if mu := opt.MaxAbs - x0Inf; mu > 0 {
		radii = append(radii, mu)
	}
	if x0Norm > 1e-12 {
		radii = append(radii, opt.MaxDevRatio*x0Norm)
	}
	alphaLB := 0.0
	if len(radii) > 0 {
		rmin := radii[0]
		for _, v := range radii {
			rmin = min(rmin, v)
		}
		alphaLB = math.Pow(math.Sqrt(ba2)/(2*rmin), 2)
	}
	eps := math.Nextafter(1, 2) - 1
	alpha := max((s1/opt.Kappa)*(s1/opt.Kappa), eps*max(s1*s1, 1), alphaLB)
	delta := make([]float64, len(ez))
	var num2, dn2, rn2, en2 float64
	for b, Jb := range J {
		A := mat.NewDense(m, n, Jb)
		var N mat.Dense
		N.Mul(A.T(), A)
		for j := 0; j < n; j++ {
			N.Set(j, j, N.At(j, j)+alpha)
		}
		op := newDenseOp(Jb, m, n)
		rhs := op.applyT(r[b*m : (b+1)*m])
		for j := range rhs {
			rhs[j] -= alpha * ez[b*n+j]
		}
		var x mat.VecDense
		if err := x.SolveVec(&N, mat.NewVecDense(n, rhs)); err != nil {
			var xd mat.Dense // LU failed: least squares, as the original
			if err2 := xd.Solve(&N, mat.NewVecDense(n, rhs)); err2 != nil {
				return nil, false
			}
			for j := 0; j < n; j++ {
				delta[b*n+j] = xd.At(j, 0)
			}
		} else {
			for j := 0; j < n; j++ {
				delta[b*n+j] = x.AtVec(j)
			}
		}
		// step-check numerator: Jᵀ(Jδ − r) + α(e_z + δ)
		jd := op.apply(delta[b*n : (b+1)*n])
		for i := range jd {
			jd[i] -= r[b*m+i]
		}
		g := op.applyT(jd)
		for j := range g {
			v := g[j] + alpha*(ez[b*n+j]+delta[b*n+j])
			num2 += v * v
		}
		d := norm2(delta[b*n : (b+1)*n])
		dn2 += d * d
		rr := norm2(r[b*m : (b+1)*m])
		rn2 += rr * rr
		ee := norm2(ez[b*n : (b+1)*n])
		en2 += ee * ee
	}
	jf := math.Sqrt(jf2)
	den := (jf*jf+alpha)*math.Sqrt(dn2) + jf*math.Sqrt(rn2) + alpha*math.Sqrt(en2)
	for _, v := range delta {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, false
		}
	}
	return delta, !(den > 0 && math.Sqrt(num2)/den > 1e-2)
}

// tryStep is the backtracking of §4.8.2 step 5; on acceptance z is updated in place.
func tryStep[F tensor.Float](block nn.Module[F], z *tensor.T[F], delta []float64, x0, target *tensor.T[F], e float64, opt Options, resid func(*tensor.T[F]) float64) bool {
	if dn := norm2(delta); dn > opt.CompositeMaxStep {
		for i := range delta {
			delta[i] *= opt.CompositeMaxStep / dn
		}
	}
	cand := z.Clone()
	s := opt.CompositeDamping
	for trial := 0; trial < 8; trial++ {
		for i := range cand.Data {
			cand.Data[i] = F(float64(z.Data[i]) + s*delta[i])
		}
		if iterateReliable(cand, x0, opt) {
			if resid(block.Forward(cand)) < e {
				copy(z.Data, cand.Data)
				return true
			}
		}
		s *= 0.8
	}
	return false
}
