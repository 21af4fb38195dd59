package reverse

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// convCase is one layer geometry of the conv reverse tests.
type convCase struct {
	cin, cout, k, stride, pad, h int
}

func (cc convCase) String() string {
	return fmt.Sprintf("cin%d_cout%d_k%d_s%d_p%d_h%d", cc.cin, cc.cout, cc.k, cc.stride, cc.pad, cc.h)
}

// cvLayer returns a Conv2D with N(0, 1/(cin·k²)) weights and a N(0,1) bias.
func cvLayer(rng *rand.Rand, cc convCase) *Conv2D {
	w := randSlice(rng, cc.cout*cc.cin*cc.k*cc.k, 1/math.Sqrt(float64(cc.cin*cc.k*cc.k)))
	c := NewConv2D(w, randSlice(rng, cc.cout, 1), cc.cout, cc.cin, cc.k, cc.k)
	c.Stride, c.Pad = cc.stride, cc.pad
	return c
}

// cvWithBias returns A x + β for a batch.
func cvWithBias(c *Conv2D, x []float64, n, h, w int) []float64 {
	y := c.Forward(x, n, h, w)
	ho, wo := c.OutSize(h, w)
	for i := 0; i < n; i++ {
		for co := 0; co < c.Cout; co++ {
			for j := 0; j < ho*wo; j++ {
				y[(i*c.Cout+co)*ho*wo+j] += c.Bias[co]
			}
		}
	}
	return y
}

// cvRel returns ‖a − b‖/‖b‖ over the whole slices.
func cvRel(a, b []float64) float64 {
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	return norm2(d) / max(norm2(b), 1e-300)
}

// cvBruteMatrix builds the per-sample matrix by running Forward on unit basis images,
// independently of buildDense.
func cvBruteMatrix(c *Conv2D, h, w int) *mat.Dense {
	ho, wo := c.OutSize(h, w)
	m, n := c.Cout*ho*wo, c.Cin*h*w
	A := mat.NewDense(m, n, nil)
	e := make([]float64, n)
	for j := 0; j < n; j++ {
		e[j] = 1
		col := c.Forward(e, 1, h, w)
		e[j] = 0
		for i, v := range col {
			A.Set(i, j, v)
		}
	}
	return A
}

// cvPinvSolve returns, per sample, x₀ + A⁺(b − A x₀) computed by an SVD of A: the
// closest point for consistent shrink problems, the minimum-norm-step least-squares
// solution otherwise (equal to the plain least-squares solution for full column rank).
func cvPinvSolve(t *testing.T, A *mat.Dense, x0, b []float64, batch int) []float64 {
	t.Helper()
	m, n := A.Dims()
	var svd mat.SVD
	if !svd.Factorize(A, mat.SVDThin) {
		t.Fatal("SVD failed")
	}
	var U, V mat.Dense
	svd.UTo(&U)
	svd.VTo(&V)
	s := svd.Values(nil)
	out := make([]float64, batch*n)
	for r := 0; r < batch; r++ {
		xr := mat.NewVecDense(n, append([]float64(nil), x0[r*n:(r+1)*n]...))
		var res mat.VecDense
		res.MulVec(A, xr)
		res.ScaleVec(-1, &res)
		res.AddVec(&res, mat.NewVecDense(m, b[r*m:(r+1)*m]))
		var c mat.VecDense
		c.MulVec(U.T(), &res)
		for i := range s {
			if s[i] > 1e-12*s[0] {
				c.SetVec(i, c.AtVec(i)/s[i])
			} else {
				c.SetVec(i, 0)
			}
		}
		var step mat.VecDense
		step.MulVec(&V, &c)
		xr.AddVec(xr, &step)
		copy(out[r*n:(r+1)*n], xr.RawVector().Data)
	}
	return out
}

func denseOpts() Options {
	o := DefaultOptions()
	o.ConvMethod = ConvDense
	return o
}

// The dense matrix equals the brute-force basis-image matrix, and Forward/Adjoint are
// adjoint to each other, for strides and paddings.
func TestConvDenseMatrixMatchesForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	for _, cc := range []convCase{{2, 3, 3, 1, 0, 7}, {2, 3, 3, 2, 1, 8}, {1, 2, 5, 1, 2, 6}, {3, 2, 3, 2, 0, 9}, {2, 2, 4, 3, 1, 10}} {
		t.Run(cc.String(), func(t *testing.T) {
			c := cvLayer(rng, cc)
			cm := c.denseMatrix(cc.h, cc.h)
			A := cvBruteMatrix(c, cc.h, cc.h)
			if d := mat.Norm(mat.NewDense(cm.m, cm.n, cm.dense()), 2); math.Abs(d-mat.Norm(A, 2)) > 1e-12*d {
				t.Fatalf("norms differ: %g vs %g", d, mat.Norm(A, 2))
			}
			var diff mat.Dense
			diff.Sub(mat.NewDense(cm.m, cm.n, cm.dense()), A)
			if e := mat.Norm(&diff, math.Inf(1)); e != 0 {
				t.Fatalf("dense matrix differs from brute force by %g", e)
			}
			// Gram matrices from the sparse form equal the dense products.
			var g mat.Dense
			g.Mul(A, A.T())
			g.Sub(&g, cm.gramRows(0))
			if e := mat.Norm(&g, math.Inf(1)); e > 1e-12 {
				t.Fatalf("AAᵀ differs by %g", e)
			}
			var h mat.Dense
			h.Mul(A.T(), A)
			h.Sub(&h, cm.gramCols(0))
			if e := mat.Norm(&h, math.Inf(1)); e > 1e-12 {
				t.Fatalf("AᵀA differs by %g", e)
			}
			// ⟨Ax, y⟩ = ⟨x, Aᵀy⟩ on a batch of 3.
			x, y := randSlice(rng, 3*cm.n, 1), randSlice(rng, 3*cm.m, 1)
			lhs, rhs := cgDot(c.Forward(x, 3, cc.h, cc.h), y), cgDot(x, c.Adjoint(y, 3, cc.h, cc.h))
			if math.Abs(lhs-rhs) > 1e-10*math.Abs(lhs) {
				t.Fatalf("adjoint mismatch: %g vs %g", lhs, rhs)
			}
		})
	}
}

// Consistent shrink problems: the forward op reproduces the target and the answer is
// the closest point to the anchor (equal to x₀ + A⁺(b − Ax₀) from an independent SVD).
func TestConvDenseShrinkClosestPoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 1))
	for _, cc := range []convCase{{3, 2, 3, 1, 0, 8}, {2, 3, 3, 2, 1, 8}, {2, 1, 5, 1, 1, 9}, {4, 8, 3, 2, 1, 8}} {
		t.Run(cc.String(), func(t *testing.T) {
			c := cvLayer(rng, cc)
			const batch = 3
			n := cc.cin * cc.h * cc.h
			x0, xTrue := randSlice(rng, batch*n, 1), randSlice(rng, batch*n, 1)
			target := cvWithBias(c, xTrue, batch, cc.h, cc.h)
			x, d, err := c.Reverse(x0, batch, cc.h, cc.h, target, denseOpts())
			if err != nil {
				t.Fatal(err)
			}
			if d.Method != "conv-dense-shrink" || d.Fallbacks != 0 || d.Samples != batch {
				t.Fatalf("diag %+v", d)
			}
			if r := cvRel(cvWithBias(c, x, batch, cc.h, cc.h), target); r > 1e-10 || d.RelResid > 1e-10 {
				t.Fatalf("relative residual %.3g (diag %.3g)", r, d.RelResid)
			}
			b := append([]float64(nil), target...)
			ho, wo := c.OutSize(cc.h, cc.h)
			for i := range b {
				b[i] -= c.Bias[(i/(ho*wo))%cc.cout]
			}
			want := cvPinvSolve(t, cvBruteMatrix(c, cc.h, cc.h), x0, b, batch)
			if e := cvRel(x, want); e > 1e-9 {
				t.Fatalf("not the closest point: relative distance to x₀+A⁺r is %.3g", e)
			}
			if cvRel(x, x0) >= cvRel(xTrue, x0) {
				t.Fatalf("answer farther from the anchor than the planted solution")
			}
		})
	}
}

// Expand problems with inconsistent targets: least-squares optimality and agreement
// with an independent SVD least-squares solve.
func TestConvDenseExpandLeastSquares(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 1))
	for _, cc := range []convCase{{1, 4, 3, 1, 0, 8}, {1, 8, 3, 2, 1, 8}, {2, 4, 3, 1, 1, 7}} {
		t.Run(cc.String(), func(t *testing.T) {
			c := cvLayer(rng, cc)
			const batch = 2
			n := cc.cin * cc.h * cc.h
			x0 := randSlice(rng, batch*n, 1)
			target := cvWithBias(c, x0, batch, cc.h, cc.h)
			for i := range target {
				target[i] += 0.3 * rng.NormFloat64()
			}
			x, d, err := c.Reverse(x0, batch, cc.h, cc.h, target, denseOpts())
			if err != nil {
				t.Fatal(err)
			}
			if d.Method != "conv-dense-expand" || d.Fallbacks != 0 {
				t.Fatalf("diag %+v", d)
			}
			// ‖Aᵀ(Ax̂ − b)‖ relative to ‖A‖(‖A‖‖x̂‖ + ‖b‖).
			res := cvWithBias(c, x, batch, cc.h, cc.h)
			for i := range res {
				res[i] -= target[i]
			}
			A := cvBruteMatrix(c, cc.h, cc.h)
			nA := mat.Norm(A, 2) // Frobenius (gonum), as the spec's test uses for explicit matrices
			g := c.Adjoint(res, batch, cc.h, cc.h)
			b := append([]float64(nil), target...)
			ho, wo := c.OutSize(cc.h, cc.h)
			for i := range b {
				b[i] -= c.Bias[(i/(ho*wo))%cc.cout]
			}
			if opt := norm2(g) / (nA * (nA*norm2(x) + norm2(b))); opt > 1e-12 {
				t.Fatalf("least-squares optimality %.3g", opt)
			}
			want := cvPinvSolve(t, A, make([]float64, len(x0)), b, batch)
			if e := cvRel(x, want); e > 1e-8 {
				t.Fatalf("differs from the SVD least-squares answer by %.3g", e)
			}
		})
	}
}

// Planted ill-conditioning and huge targets take the centred Tikhonov fallback; the
// answer stays finite and within MaxAbs.
func TestConvDenseFallback(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 1))
	const batch, h = 2, 8
	check := func(t *testing.T, c *Conv2D, x0, target []float64, wantMethod string, wantFallbacks int) {
		t.Helper()
		x, d, err := c.Reverse(x0, batch, h, h, target, denseOpts())
		if err != nil {
			t.Fatal(err)
		}
		if d.Method != wantMethod || d.Fallbacks != wantFallbacks {
			t.Fatalf("diag %+v, want %s with %d fallbacks", d, wantMethod, wantFallbacks)
		}
		if !finiteBounded(x, DefaultOptions().MaxAbs) {
			t.Fatalf("answer not finite or beyond MaxAbs (max %g)", cvMaxAbs(x))
		}
	}
	t.Run("rank-deficient-shrink", func(t *testing.T) {
		// Two identical output filters: AAᵀ is singular and the target asks them to differ.
		cc := convCase{3, 2, 3, 1, 0, h}
		c := cvLayer(rng, cc)
		copy(c.Weight[27:], c.Weight[:27])
		x0 := randSlice(rng, batch*3*h*h, 1)
		check(t, c, x0, randSlice(rng, batch*2*6*6, 5), "conv-dense-shrink", batch)
	})
	t.Run("huge-target-shrink", func(t *testing.T) {
		c := cvLayer(rng, convCase{3, 2, 3, 1, 1, h})
		x0 := randSlice(rng, batch*3*h*h, 1)
		tgt := randSlice(rng, batch*2*h*h, 1)
		tgt[5] = 1e9 // only sample 0 is out of reach
		check(t, c, x0, tgt, "conv-dense-shrink", 1)
	})
	t.Run("huge-target-expand", func(t *testing.T) {
		c := cvLayer(rng, convCase{1, 8, 3, 2, 1, h})
		x0 := randSlice(rng, batch*h*h, 1)
		check(t, c, x0, randSlice(rng, batch*8*4*4, 1e8), "conv-dense-expand", batch)
	})
	t.Run("zero-kernel-expand", func(t *testing.T) {
		// A = 0: QR breaks down, every sample falls back; the answer stays at the anchor.
		c := cvLayer(rng, convCase{1, 4, 3, 1, 0, h})
		clear(c.Weight)
		x0 := randSlice(rng, batch*h*h, 1)
		x, d, err := c.Reverse(x0, batch, h, h, randSlice(rng, batch*4*6*6, 1), denseOpts())
		if err != nil {
			t.Fatal(err)
		}
		if d.Fallbacks != batch || cvRel(x, x0) > 1e-12 {
			t.Fatalf("diag %+v, moved %.3g from the anchor", d, cvRel(x, x0))
		}
	})
	t.Run("no-regularize-stays-finite", func(t *testing.T) {
		c := cvLayer(rng, convCase{3, 2, 3, 1, 0, h})
		copy(c.Weight[27:], c.Weight[:27])
		opt := denseOpts()
		opt.Regularize = false
		x, _, err := c.Reverse(randSlice(rng, batch*3*h*h, 1), batch, h, h, randSlice(rng, batch*2*6*6, 1), opt)
		if err != nil {
			t.Fatal(err)
		}
		if !allFinite(x) {
			t.Fatal("non-finite answer")
		}
	})
}

func cvMaxAbs(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = max(m, math.Abs(v))
	}
	return m
}

// Oversized problems fail before allocating, with an error wrapping ErrDenseTooLarge.
func TestConvDenseMemoryLimit(t *testing.T) {
	c := cvLayer(rand.New(rand.NewPCG(7, 1)), convCase{2, 4, 5, 1, 0, 1024})
	bytes, flops := c.DenseCost(2, 1024, 1024)
	if bytes < 100<<30 || flops < 1e14 {
		t.Fatalf("cost estimate %d bytes, %g flops is too small", bytes, flops)
	}
	_, _, err := c.Reverse(make([]float64, 2*2*1024*1024), 2, 1024, 1024, make([]float64, 2*4*1020*1020), denseOpts())
	if !errors.Is(err, ErrDenseTooLarge) {
		t.Fatalf("want ErrDenseTooLarge, got %v", err)
	}
}

// The band Cholesky factorisation solves the Gram systems like a dense Cholesky solve,
// in the permuted order, for shrink and expand geometries with strides and padding.
func TestConvDenseBandMatchesDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	for _, cc := range []convCase{{2, 4, 5, 1, 0, 12}, {3, 1, 5, 1, 1, 10}, {2, 3, 3, 2, 1, 9}} {
		t.Run(cc.String(), func(t *testing.T) {
			c := cvLayer(rng, cc)
			cm := c.denseMatrix(cc.h, cc.h)
			const alpha = 1e-3
			g := cm.bandGram(alpha)
			perm, dense := cm.permIn, cm.gramCols(alpha)
			if cm.n >= cm.m {
				perm, dense = cm.permOut, cm.gramRows(alpha)
			}
			if !g.factorize() {
				t.Fatal("band Cholesky failed")
			}
			var ch mat.Cholesky
			if !ch.Factorize(dense) {
				t.Fatal("dense Cholesky failed")
			}
			rhs := randSlice(rng, len(perm), 1)
			var want mat.VecDense
			if err := ch.SolveVecTo(&want, mat.NewVecDense(len(rhs), append([]float64(nil), rhs...))); err != nil {
				t.Fatal(err)
			}
			got := append([]float64(nil), rhs...)
			g.solvePerm(got, make([]float64, len(got)), perm)
			if e := cvRel(got, want.RawVector().Data); e > 1e-10 {
				t.Fatalf("band solve differs from the dense solve by %.3g", e)
			}
		})
	}
}

// BenchmarkConvReverseDense times a warm exact_matrix call on the bench problem (16²,
// expand and shrink).
func BenchmarkConvReverseDense(b *testing.B) {
	for _, cout := range []int{4, 1} {
		b.Run(fmt.Sprintf("cout%d", cout), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(9, 1))
			cc := convCase{2, cout, 5, 1, 0, 16}
			c := cvLayer(rng, cc)
			x0 := randSlice(rng, 2*2*16*16, 1)
			target := randSlice(rng, 2*cout*12*12, 1)
			for i := 0; i < b.N; i++ {
				if _, _, err := c.Reverse(x0, 2, 16, 16, target, denseOpts()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
