package reverse

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// DenseMemoryLimit caps the memory (bytes) the exact_matrix conv method may use for its
// dense matrix and factorisations (see (*Conv2D).DenseCost). Larger problems fail with
// an error wrapping ErrDenseTooLarge before anything is allocated.
var DenseMemoryLimit int64 = 8 << 30

// ErrDenseTooLarge is wrapped by the error of the exact_matrix conv method when the dense
// matrix and its factorisation would need more than DenseMemoryLimit bytes.
var ErrDenseTooLarge = errors.New("dense conv matrix exceeds the memory limit")

// convMatrix is the explicit per-sample matrix A ((Cout·Ho·Wo)×(Cin·H·W)) of a
// bias-free convolution, held in compressed sparse row and column form (every row has
// at most Cin·KH·KW non-zeros; dense returns the row-major dense array). Indices are
// channel-major as in the tensors; permIn/permOut map them to the pixel-major order in
// which the Gram matrices AᵀA and AAᵀ are band matrices (see bandPerm).
type convMatrix struct {
	m, n   int
	normF2 float64 // ‖A‖_F² = tr(AAᵀ) = tr(AᵀA)

	rowPtr []int
	colIdx []int32
	rowVal []float64

	colPtr []int
	rowIdx []int32
	colVal []float64

	permIn, permOut []int32
}

// dense returns A as a dense row-major m×n array.
func (cm *convMatrix) dense() []float64 {
	a := make([]float64, cm.m*cm.n)
	for i := 0; i < cm.m; i++ {
		for k := cm.rowPtr[i]; k < cm.rowPtr[i+1]; k++ {
			a[i*cm.n+int(cm.colIdx[k])] = cm.rowVal[k]
		}
	}
	return a
}

// mul sets y = A x for one sample.
func (cm *convMatrix) mul(x, y []float64) { sparseMul(cm.rowPtr, cm.colIdx, cm.rowVal, x, y[:cm.m]) }

// mulT sets x = Aᵀ y for one sample (the column form of A is the row form of Aᵀ).
func (cm *convMatrix) mulT(y, x []float64) { sparseMul(cm.colPtr, cm.rowIdx, cm.colVal, y, x[:cm.n]) }

// sparseMul sets y = M x for M in compressed sparse row form (ptr, idx, val), one row
// per element of y.
func sparseMul(ptr []int, idx []int32, val, x, y []float64) {
	for i := range y {
		s := 0.0
		for k := ptr[i]; k < ptr[i+1]; k++ {
			s += val[k] * x[idx[k]]
		}
		y[i] = s
	}
}

// reliable runs the §2.2 test of the explicit-matrix methods on one sample (as
// denseOp.reliable, with ‖A‖ the Frobenius norm and the sparse products).
func (cm *convMatrix) reliable(x, b, anchor []float64, lstsq bool, opt Options) bool {
	if !finiteBounded(x, opt.MaxAbs) || !deviationOK(x, anchor, opt.MaxDevRatio, opt.FloorMatrix) {
		return false
	}
	normF := math.Sqrt(cm.normF2)
	res := make([]float64, cm.m)
	cm.mul(x, res)
	for i := range res {
		res[i] -= b[i]
	}
	if !lstsq {
		return norm2(res)/(normF*norm2(x)+norm2(b)+1e-300) <= opt.tauSolve()
	}
	g := make([]float64, cm.n)
	cm.mulT(res, g)
	return norm2(g)/(normF*(normF*norm2(x)+norm2(b))+1e-300) <= opt.tauLstsq()
}

// DenseCost estimates what the exact_matrix method needs for one cold call on a batch
// of batch inputs of h×w: the peak memory (bytes) of the sparse matrix, the band
// Cholesky factor of its Gram matrix (cached) and a second one for the regularised
// fallback, and the floating-point operations of the Gram assembly, the band
// factorisation (the Gram matrix AᵀA in the expand case, AAᵀ in the shrink case
// Cin·H·W ≥ Cout·Ho·Wo, of order N with half-bandwidth bw ≈ C·((KH−1)·W + KW) in
// pixel-major order: N·bw² flops) and the solves with refinement. Warm calls reuse the
// factorisation and cost only the solves.
func (c *Conv2D) DenseCost(batch, h, w int) (bytes int64, flops float64) {
	ho, wo := c.OutSize(h, w)
	m, n := float64(c.Cout*ho*wo), float64(c.Cin*h*w)
	B := float64(max(batch, 1))
	per := float64(c.Cin * c.KH * c.KW)
	nnz := m * per
	s := max(c.Stride, 1)
	N, bw := n, float64(c.Cin*((c.KH-1)*w+c.KW))
	if n >= m {
		N, bw = m, float64(c.Cout*((c.KH-1)/s*wo+(c.KW-1)/s+1))
	}
	bw = min(bw, N)
	bytes = int64(8*(2*N*(bw+1)+4*B*(m+n)) + 24*nnz + 8*(m+n))
	solves := 2 * B * (1 + denseRefineSteps) * (2*N*bw + 4*nnz)
	return bytes, N*bw*bw + 2*nnz*per + solves
}

// denseMatrix returns the cached dense matrix of the convolution for h×w inputs.
func (c *Conv2D) denseMatrix(h, w int) *convMatrix {
	return c.cached(fmt.Sprintf("dense/%dx%d", h, w), func() any { return c.buildDense(h, w) }).(*convMatrix)
}

// buildDense fills A directly from the weights: row (co, oy, ox), column (ci, iy, ix)
// holds w[co, ci, ky, kx] with iy = oy·s + ky − p, ix = ox·s + kx − p. This is the same
// matrix the original builds by convolving the Cin·H·W unit basis images.
func (c *Conv2D) buildDense(h, w int) *convMatrix {
	s := c.shape(1, h, w)
	ho, wo := s.OutSize()
	m, n := c.Cout*ho*wo, c.Cin*h*w
	cm := &convMatrix{m: m, n: n, rowPtr: make([]int, m+1)}
	per := c.Cin * c.KH * c.KW
	cm.colIdx = make([]int32, 0, m*per)
	cm.rowVal = make([]float64, 0, m*per)
	for co := 0; co < c.Cout; co++ {
		for oy := 0; oy < ho; oy++ {
			for ox := 0; ox < wo; ox++ {
				row := (co*ho+oy)*wo + ox
				for ci := 0; ci < c.Cin; ci++ {
					for ky := 0; ky < c.KH; ky++ {
						iy := oy*s.Stride + ky - s.Pad
						if iy < 0 || iy >= h {
							continue
						}
						for kx := 0; kx < c.KW; kx++ {
							ix := ox*s.Stride + kx - s.Pad
							v := c.Weight[((co*c.Cin+ci)*c.KH+ky)*c.KW+kx]
							if ix < 0 || ix >= w || v == 0 {
								continue
							}
							col := (ci*h+iy)*w + ix
							cm.colIdx = append(cm.colIdx, int32(col))
							cm.rowVal = append(cm.rowVal, v)
							cm.normF2 += v * v
						}
					}
				}
				cm.rowPtr[row+1] = len(cm.colIdx)
			}
		}
	}
	// Column form by a counting sort of the row form.
	cm.colPtr = make([]int, n+1)
	for _, j := range cm.colIdx {
		cm.colPtr[j+1]++
	}
	for j := 0; j < n; j++ {
		cm.colPtr[j+1] += cm.colPtr[j]
	}
	next := append([]int(nil), cm.colPtr[:n]...)
	cm.rowIdx = make([]int32, len(cm.colIdx))
	cm.colVal = make([]float64, len(cm.colIdx))
	for i := 0; i < m; i++ {
		for k := cm.rowPtr[i]; k < cm.rowPtr[i+1]; k++ {
			j := cm.colIdx[k]
			cm.rowIdx[next[j]] = int32(i)
			cm.colVal[next[j]] = cm.rowVal[k]
			next[j]++
		}
	}
	cm.permIn = bandPerm(c.Cin, h, w)
	cm.permOut = bandPerm(c.Cout, ho, wo)
	return cm
}

// gramRows returns AAᵀ + αI (m×m) assembled column by column of A.
func (cm *convMatrix) gramRows(alpha float64) *mat.SymDense {
	g := make([]float64, cm.m*cm.m)
	for j := 0; j < cm.n; j++ {
		lo, hi := cm.colPtr[j], cm.colPtr[j+1]
		for p := lo; p < hi; p++ {
			rp, vp := int(cm.rowIdx[p])*cm.m, cm.colVal[p]
			for q := lo; q < hi; q++ {
				g[rp+int(cm.rowIdx[q])] += vp * cm.colVal[q]
			}
		}
	}
	for i := 0; i < cm.m; i++ {
		g[i*cm.m+i] += alpha
	}
	return mat.NewSymDense(cm.m, g)
}

// gramCols returns AᵀA + αI (n×n) assembled row by row of A.
func (cm *convMatrix) gramCols(alpha float64) *mat.SymDense {
	g := make([]float64, cm.n*cm.n)
	for i := 0; i < cm.m; i++ {
		lo, hi := cm.rowPtr[i], cm.rowPtr[i+1]
		for p := lo; p < hi; p++ {
			cp, vp := int(cm.colIdx[p])*cm.n, cm.rowVal[p]
			for q := lo; q < hi; q++ {
				g[cp+int(cm.colIdx[q])] += vp * cm.rowVal[q]
			}
		}
	}
	for j := 0; j < cm.n; j++ {
		g[j*cm.n+j] += alpha
	}
	return mat.NewSymDense(cm.n, g)
}

// spdSolver factorises a symmetric matrix by Cholesky, or by LU when it is not
// numerically positive definite; ok is false when both fail.
type spdSolver struct {
	ch    mat.Cholesky
	lu    mat.LU
	useLU bool
}

func newSPDSolver(g *mat.SymDense) (*spdSolver, bool) {
	s := &spdSolver{}
	if s.ch.Factorize(g) {
		return s, true
	}
	s.useLU = true
	s.lu.Factorize(g)
	if math.IsInf(s.lu.Cond(), 1) {
		return nil, false
	}
	return s, true
}

// solve returns G⁻¹ rhs (rhs has one right-hand side per column).
func (s *spdSolver) solve(rhs mat.Matrix) (*mat.Dense, error) {
	var z mat.Dense
	var err error
	if s.useLU {
		err = s.lu.SolveTo(&z, false, rhs)
	} else {
		err = s.ch.SolveTo(&z, rhs)
	}
	var cond mat.Condition
	if err != nil && !(errors.As(err, &cond) && !math.IsInf(float64(cond), 1)) {
		return nil, err
	}
	return &z, nil
}

// denseMargin returns the magnitude-guard margin μ = MaxAbs − ‖x₀‖∞, clamped below at ε.
func denseMargin(x0 []float64, maxAbs float64) float64 {
	eps := math.Nextafter(1, 2) - 1
	return max(maxAbs-floats.Norm(x0, math.Inf(1)), eps)
}

// denseRefineSteps is the number of iterative-refinement steps the exact_matrix
// method takes after its normal-equations solve: each recomputes the residual
// b − Ax against A itself and solves the same (cached) band system for the correction,
// which brings Aᵀ(Ax − b) (expand) or Ax − b (shrink) down to rounding level even
// though the Gram matrix squares A's condition number.
const denseRefineSteps = 2

// denseFactor is the cached band Cholesky factor of the α = 0 Gram matrix used by one
// input size: AᵀA (expand) or AAᵀ (shrink); ok is false when the factorisation failed.
type denseFactor struct {
	g  *bandChol
	ok bool
}

// denseFactor returns the cached factorisation of the Gram matrix for h×w inputs.
func (c *Conv2D) denseFactor(cm *convMatrix, h, w int) *denseFactor {
	return c.cached(fmt.Sprintf("dense-chol/%dx%d", h, w), func() any {
		g := cm.bandGram(0)
		return &denseFactor{g: g, ok: g.factorize()}
	}).(*denseFactor)
}

// bandGram returns the band form of AAᵀ + αI (shrink, in permOut order) or AᵀA + αI
// (expand, in permIn order).
func (cm *convMatrix) bandGram(alpha float64) *bandChol {
	var g *bandChol
	if cm.n >= cm.m {
		g = bandGram(cm.m, cm.colPtr, cm.rowIdx, cm.colVal, cm.permOut)
	} else {
		g = bandGram(cm.n, cm.rowPtr, cm.colIdx, cm.rowVal, cm.permIn)
	}
	g.addDiag(alpha)
	return g
}

// reverseDense is the exact_matrix method (spec §4.2.1). b is the bias-free target.
//
// Shrink (Cin·H·W ≥ Cout·Ho·Wo): x̂ = x₀ + Aᵀ(AAᵀ)⁻¹(b − Ax₀), then per sample the
// "solve" reliability test with anchor x₀; failed samples share α = max(tr(AAᵀ)/κ²,
// max (‖r_b‖/(2μ_b))²), μ_b = MaxAbs − ‖x₀_b‖∞ clamped below at ε, and
// x̂ = x₀ + Aᵀ(AAᵀ+αI)⁻¹r (α is also kept ≥ ε·max(tr, 1) so that a zero weight cannot
// make the system singular). Expand: anchor-free least squares, the per-sample
// "lstsq" test, and for failed samples x̂ = x₀ + (AᵀA+αI)⁻¹Aᵀ(b − Ax₀) with α as above
// (tr(AᵀA) = tr(AAᵀ)). Any stride and padding work.
//
// The explicit matrix A is kept in sparse form (cached per input size). Ordered
// pixel-major, AAᵀ and AᵀA are band matrices of half-bandwidth about
// C·((KH−1)·W + KW), so the direct solves use a band Cholesky factorisation (n·bw²
// flops instead of n³/3, or 2mn² for the original's QR of A) that is cached per input
// size, since neither AAᵀ nor AᵀA depends on the sample. The expand least-squares
// problem is solved by these normal equations plus denseRefineSteps steps of
// iterative refinement against A, which makes the least-squares optimality
// ‖Aᵀ(Ax̂−b)‖ as small as the QR solve's (the same refinement is applied in the
// shrink case). When the band factorisation fails (Gram matrix not numerically
// positive definite) the method falls back to the original's dense factorisations —
// LU of AAᵀ (shrink) or QR of A (expand) — when they fit in DenseMemoryLimit, and else
// treats the solve as failed. A failing solve sends every sample to the regularised
// fallback, also without Regularize; the fallback's band factorisation depends on
// α and is not cached. The call fails with ErrDenseTooLarge when DenseCost exceeds
// DenseMemoryLimit.
func (c *Conv2D) reverseDense(anchor []float64, n, h, w int, b []float64, opt Options) ([]float64, Diag, error) {
	if bytes, _ := c.DenseCost(n, h, w); bytes > DenseMemoryLimit {
		ho, wo := c.OutSize(h, w)
		return nil, Diag{}, fmt.Errorf("reverse.Conv2D %s: %d×%d matrix for %d×%d inputs needs about %.1f GiB (limit %.1f GiB): %w",
			ConvDense, c.Cout*ho*wo, c.Cin*h*w, h, w, float64(bytes)/(1<<30), float64(DenseMemoryLimit)/(1<<30), ErrDenseTooLarge)
	}
	if n == 0 {
		return []float64{}, Diag{Method: "conv-dense"}, nil
	}
	cm := c.denseMatrix(h, w)
	m, nin := cm.m, cm.n
	shrink := nin >= m
	f := c.denseFactor(cm, h, w)

	// r = b − A x₀, one sample per block.
	r := make([]float64, n*m)
	for s := 0; s < n; s++ {
		rs := r[s*m : (s+1)*m]
		cm.mul(anchor[s*nin:(s+1)*nin], rs)
		for i, bi := range b[s*m : (s+1)*m] {
			rs[i] = bi - rs[i]
		}
	}
	x := make([]float64, n*nin)
	d := Diag{}
	solverFailed := false
	if shrink {
		d.Method = "conv-dense-shrink"
		copy(x, anchor)
		if f.ok {
			cm.bandShrink(f.g, x, r, b, n)
		} else {
			solverFailed = !cm.denseShrink(x, r, 0, n)
		}
	} else {
		d.Method = "conv-dense-expand"
		if f.ok {
			cm.bandExpand(f.g, x, b, n)
		} else {
			solverFailed = !cm.qrExpand(x, b, n)
		}
		solverFailed = solverFailed || !allFinite(x)
	}
	var failed []int
	for s := 0; s < n; s++ {
		xs, bs, as := x[s*nin:(s+1)*nin], b[s*m:(s+1)*m], anchor[s*nin:(s+1)*nin]
		if solverFailed || (opt.Regularize && !cm.reliable(xs, bs, as, !shrink, opt)) {
			failed = append(failed, s)
		}
	}
	if len(failed) == 0 {
		return x, d, nil
	}
	// Shared centred-Tikhonov strength for the failed samples.
	eps := math.Nextafter(1, 2) - 1
	alpha := max(cm.normF2/(opt.Kappa*opt.Kappa), eps*max(cm.normF2, 1))
	for _, s := range failed {
		g := floats.Norm(r[s*m:(s+1)*m], 2) / (2 * denseMargin(anchor[s*nin:(s+1)*nin], opt.MaxAbs))
		alpha = max(alpha, g*g)
	}
	xf := make([]float64, len(failed)*nin)
	rf := make([]float64, len(failed)*m)
	for i, s := range failed {
		copy(xf[i*nin:(i+1)*nin], anchor[s*nin:(s+1)*nin])
		copy(rf[i*m:(i+1)*m], r[s*m:(s+1)*m])
	}
	if err := cm.regularised(xf, rf, alpha, len(failed)); err != nil {
		return nil, d, err
	}
	for i, s := range failed {
		copy(x[s*nin:(s+1)*nin], xf[i*nin:(i+1)*nin])
	}
	d.Fallbacks = len(failed)
	return x, d, nil
}

// bandShrink adds to each of the batch samples of x (holding x₀) the correction
// Aᵀ(AAᵀ)⁻¹r with g the factor of AAᵀ, then refines it against the target b.
func (cm *convMatrix) bandShrink(g *bandChol, x, r, b []float64, batch int) {
	m, nin := cm.m, cm.n
	z := make([]float64, m)
	work := make([]float64, m)
	dx := make([]float64, nin)
	for s := 0; s < batch; s++ {
		xs, bs := x[s*nin:(s+1)*nin], b[s*m:(s+1)*m]
		copy(z, r[s*m:(s+1)*m])
		for step := 0; ; step++ {
			g.solvePerm(z, work, cm.permOut)
			cm.mulT(z, dx)
			floats.Add(xs, dx)
			if step == denseRefineSteps {
				break
			}
			cm.mul(xs, z)
			for i, bi := range bs {
				z[i] = bi - z[i]
			}
		}
	}
}

// bandExpand sets each of the batch samples of x to the least-squares solution of
// A x = b by the normal equations (g the factor of AᵀA) and iterative refinement.
func (cm *convMatrix) bandExpand(g *bandChol, x, b []float64, batch int) {
	m, nin := cm.m, cm.n
	res := make([]float64, m)
	work := make([]float64, nin)
	dx := make([]float64, nin)
	for s := 0; s < batch; s++ {
		xs, bs := x[s*nin:(s+1)*nin], b[s*m:(s+1)*m]
		cm.mulT(bs, xs)
		g.solvePerm(xs, work, cm.permIn)
		for step := 0; step < denseRefineSteps; step++ {
			cm.mul(xs, res)
			for i, bi := range bs {
				res[i] = bi - res[i]
			}
			cm.mulT(res, dx)
			g.solvePerm(dx, work, cm.permIn)
			floats.Add(xs, dx)
		}
	}
}

// denseShrink is the original's dense shrink solve, used when the band Cholesky
// factorisation of AAᵀ + αI fails: Cholesky, else LU of the dense matrix, and
// x_b += Aᵀ(AAᵀ+αI)⁻¹r_b. It reports false when the matrix is singular or too large.
func (cm *convMatrix) denseShrink(x, r []float64, alpha float64, batch int) bool {
	if int64(16)*int64(cm.m)*int64(cm.m) > DenseMemoryLimit {
		return false
	}
	sol, ok := newSPDSolver(cm.gramRows(alpha))
	if !ok {
		return false
	}
	Z, err := sol.solve(mat.NewDense(batch, cm.m, r).T())
	if err != nil {
		return false
	}
	z := make([]float64, cm.m)
	dx := make([]float64, cm.n)
	for s := 0; s < batch; s++ {
		mat.Col(z, s, Z)
		cm.mulT(z, dx)
		floats.Add(x[s*cm.n:(s+1)*cm.n], dx)
	}
	return true
}

// qrExpand is the original's least-squares solve by a dense QR factorisation of A,
// used when the band Cholesky factorisation of AᵀA fails. It reports false when the
// factorisation breaks down or A does not fit in memory.
func (cm *convMatrix) qrExpand(x, b []float64, batch int) bool {
	if int64(16)*int64(cm.m)*int64(cm.n) > DenseMemoryLimit {
		return false
	}
	var qr mat.QR
	qr.Factorize(mat.NewDense(cm.m, cm.n, cm.dense()))
	var Xs mat.Dense // n×batch
	err := qr.SolveTo(&Xs, false, mat.NewDense(batch, cm.m, append([]float64(nil), b...)).T())
	var cond mat.Condition
	if err != nil && !(errors.As(err, &cond) && !math.IsInf(float64(cond), 1)) {
		return false
	}
	for s := 0; s < batch; s++ {
		mat.Col(x[s*cm.n:(s+1)*cm.n], s, &Xs)
	}
	return true
}

// regularised overwrites the batch samples of x (holding x₀) with the centred
// Tikhonov answers x₀ + Aᵀ(AAᵀ+αI)⁻¹r (shrink) or x₀ + (AᵀA+αI)⁻¹Aᵀr (expand) for the
// residuals r = b − Ax₀, by a band Cholesky factorisation (dense Cholesky/LU if that
// fails and the dense matrix fits in memory).
func (cm *convMatrix) regularised(x, r []float64, alpha float64, batch int) error {
	m, nin := cm.m, cm.n
	g := cm.bandGram(alpha)
	if !g.factorize() {
		if cm.n >= cm.m {
			if !cm.denseShrink(x, r, alpha, batch) {
				return fmt.Errorf("reverse.Conv2D %s: AAᵀ+αI (α=%g) is singular", ConvDense, alpha)
			}
			return nil
		}
		return cm.denseRegularisedExpand(x, r, alpha, batch)
	}
	if nin >= m {
		work := make([]float64, m)
		z := make([]float64, m)
		dx := make([]float64, nin)
		for s := 0; s < batch; s++ {
			copy(z, r[s*m:(s+1)*m])
			g.solvePerm(z, work, cm.permOut)
			cm.mulT(z, dx)
			floats.Add(x[s*nin:(s+1)*nin], dx)
		}
		return nil
	}
	work := make([]float64, nin)
	dx := make([]float64, nin)
	for s := 0; s < batch; s++ {
		cm.mulT(r[s*m:(s+1)*m], dx)
		g.solvePerm(dx, work, cm.permIn)
		floats.Add(x[s*nin:(s+1)*nin], dx)
	}
	return nil
}

// denseRegularisedExpand is the dense (Cholesky, else LU) form of the expand fallback
// x_b += (AᵀA+αI)⁻¹Aᵀr_b.
func (cm *convMatrix) denseRegularisedExpand(x, r []float64, alpha float64, batch int) error {
	if int64(16)*int64(cm.n)*int64(cm.n) > DenseMemoryLimit {
		return fmt.Errorf("reverse.Conv2D %s: band factorisation of AᵀA+αI (α=%g) failed and the dense one needs too much memory: %w", ConvDense, alpha, ErrDenseTooLarge)
	}
	sol, ok := newSPDSolver(cm.gramCols(alpha))
	if !ok {
		return fmt.Errorf("reverse.Conv2D %s: AᵀA+αI (α=%g) is singular", ConvDense, alpha)
	}
	atr := mat.NewDense(batch, cm.n, nil)
	for s := 0; s < batch; s++ {
		cm.mulT(r[s*cm.m:(s+1)*cm.m], atr.RawRowView(s))
	}
	Z, err := sol.solve(atr.T())
	if err != nil {
		return fmt.Errorf("reverse.Conv2D %s: regularised solve: %w", ConvDense, err)
	}
	for s := 0; s < batch; s++ {
		floats.Add(x[s*cm.n:(s+1)*cm.n], mat.Col(nil, s, Z))
	}
	return nil
}
