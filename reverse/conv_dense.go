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

// convMatrix is the dense per-sample matrix A ((Cout·Ho·Wo)×(Cin·H·W), row-major) of a
// bias-free convolution, with the same matrix in compressed sparse row and column form
// (every row has at most Cin·KH·KW non-zeros), used to assemble the Gram matrices AAᵀ
// and AᵀA in O(nnz·Cin·KH·KW) instead of a dense O(m²n) product.
type convMatrix struct {
	m, n   int
	a      []float64
	normF2 float64 // ‖A‖_F² = tr(AAᵀ) = tr(AᵀA)

	rowPtr []int
	colIdx []int32
	rowVal []float64

	colPtr []int
	rowIdx []int32
	colVal []float64
}

// DenseCost estimates what the exact_matrix method needs for one call on a batch of
// batch inputs of h×w: the peak memory of the dense matrix plus its factorisation
// (bytes) and the floating-point operations of the factorisation and the solves. In the
// shrink case (Cin·H·W ≥ Cout·Ho·Wo) that is A plus two m×m matrices (Gram, Cholesky
// factor) and m³/3 flops; in the expand case A, its QR copy and two n×n matrices for the
// regularised fallback, and 2mn² − 2n³/3 flops.
func (c *Conv2D) DenseCost(batch, h, w int) (bytes int64, flops float64) {
	ho, wo := c.OutSize(h, w)
	m, n := float64(c.Cout*ho*wo), float64(c.Cin*h*w)
	B := float64(max(batch, 1))
	if n >= m {
		return int64(8 * (m*n + 2*m*m + 4*B*(m+n))), m*m*m/3 + 4*m*n*B
	}
	return int64(8 * (2*m*n + 2*n*n + 4*B*(m+n))), 2*m*n*n - 2*n*n*n/3 + 4*m*n*B + n*n*n/3
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
	cm := &convMatrix{m: m, n: n, a: make([]float64, m*n), rowPtr: make([]int, m+1)}
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
							cm.a[row*n+col] = v
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

// reverseDense is the exact_matrix method (spec §4.2.1). b is the bias-free target.
//
// Shrink (Cin·H·W ≥ Cout·Ho·Wo): x̂ = x₀ + Aᵀ(AAᵀ)⁻¹(b − Ax₀) by Cholesky of AAᵀ (LU if
// it is not numerically positive definite), then per sample the "solve" reliability
// test with anchor x₀; failed samples share α = max(tr(AAᵀ)/κ², max (‖r_b‖/(2μ_b))²),
// μ_b = MaxAbs − ‖x₀_b‖∞ clamped below at ε, and x̂ = x₀ + Aᵀ(AAᵀ+αI)⁻¹r (α is also
// kept ≥ ε·max(tr, 1) so that a zero weight cannot make the system singular).
// Expand: anchor-free least squares by QR of A, the per-sample "lstsq" test, and for
// failed samples x̂ = x₀ + (AᵀA+αI)⁻¹Aᵀ(b − Ax₀) with α as above (tr(AᵀA) = tr(AAᵀ)).
// A failing factorisation sends every sample to the fallback, also without
// Regularize. Any stride and padding work. A is cached per input size; the
// factorisations are redone on every call, as in the original. The call fails with
// ErrDenseTooLarge when DenseCost exceeds DenseMemoryLimit.
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
	A := mat.NewDense(m, nin, cm.a)
	X0 := mat.NewDense(n, nin, anchor)
	op := denseOp{a: cm.a, m: m, n: nin, normF: math.Sqrt(cm.normF2)}

	// R = b − A x₀, one sample per row.
	var R mat.Dense
	R.Mul(X0, A.T())
	rRaw := R.RawMatrix().Data
	for i := range rRaw {
		rRaw[i] = b[i] - rRaw[i]
	}
	shrink := nin >= m
	x := make([]float64, n*nin)
	d := Diag{}
	solverFailed := false
	if shrink {
		d.Method = "conv-dense-shrink"
		copy(x, anchor)
		if s, ok := newSPDSolver(cm.gramRows(0)); !ok {
			solverFailed = true
		} else if Z, err := s.solve(R.T()); err != nil {
			solverFailed = true
		} else {
			var D mat.Dense // D = Zᵀ A: per-sample corrections Aᵀ z_b as rows
			D.Mul(Z.T(), A)
			floats.Add(x, D.RawMatrix().Data)
		}
	} else {
		d.Method = "conv-dense-expand"
		var qr mat.QR
		qr.Factorize(A)
		Bm := mat.NewDense(n, m, append([]float64(nil), b...))
		var Xs mat.Dense // n×batch
		err := qr.SolveTo(&Xs, false, Bm.T())
		var cond mat.Condition
		if err != nil && !(errors.As(err, &cond) && !math.IsInf(float64(cond), 1)) {
			solverFailed = true
		} else {
			for r := 0; r < n; r++ {
				for j := 0; j < nin; j++ {
					x[r*nin+j] = Xs.At(j, r)
				}
			}
			solverFailed = !allFinite(x)
		}
	}
	var failed []int
	for r := 0; r < n; r++ {
		xr, br, ar := x[r*nin:(r+1)*nin], b[r*m:(r+1)*m], anchor[r*nin:(r+1)*nin]
		if solverFailed || (opt.Regularize && !op.reliable(xr, br, ar, !shrink, opt)) {
			failed = append(failed, r)
		}
	}
	if len(failed) == 0 {
		return x, d, nil
	}
	// Shared centred-Tikhonov strength for the failed samples.
	eps := math.Nextafter(1, 2) - 1
	alpha := max(cm.normF2/(opt.Kappa*opt.Kappa), eps*max(cm.normF2, 1))
	for _, r := range failed {
		g := floats.Norm(rRaw[r*m:(r+1)*m], 2) / (2 * denseMargin(anchor[r*nin:(r+1)*nin], opt.MaxAbs))
		alpha = max(alpha, g*g)
	}
	Rf := mat.NewDense(len(failed), m, nil)
	for i, r := range failed {
		Rf.SetRow(i, rRaw[r*m:(r+1)*m])
	}
	var D mat.Dense // rows: corrections x̂_b − x₀_b of the failed samples
	if shrink {
		s, ok := newSPDSolver(cm.gramRows(alpha))
		if !ok {
			return nil, d, fmt.Errorf("reverse.Conv2D %s: AAᵀ+αI (α=%g) is singular", ConvDense, alpha)
		}
		Z, err := s.solve(Rf.T())
		if err != nil {
			return nil, d, fmt.Errorf("reverse.Conv2D %s: regularised solve: %w", ConvDense, err)
		}
		D.Mul(Z.T(), A)
	} else {
		s, ok := newSPDSolver(cm.gramCols(alpha))
		if !ok {
			return nil, d, fmt.Errorf("reverse.Conv2D %s: AᵀA+αI (α=%g) is singular", ConvDense, alpha)
		}
		var AtR mat.Dense // n×failed
		AtR.Mul(A.T(), Rf.T())
		Z, err := s.solve(&AtR)
		if err != nil {
			return nil, d, fmt.Errorf("reverse.Conv2D %s: regularised solve: %w", ConvDense, err)
		}
		D.CloneFrom(Z.T())
	}
	for i, r := range failed {
		xr := x[r*nin : (r+1)*nin]
		copy(xr, anchor[r*nin:(r+1)*nin])
		floats.Add(xr, D.RawRowView(i))
	}
	d.Fallbacks = len(failed)
	return x, d, nil
}
