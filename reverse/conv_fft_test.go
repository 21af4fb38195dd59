package reverse

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func randSlice(rng *rand.Rand, n int, scale float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = scale * rng.NormFloat64()
	}
	return x
}

// circularMatrix builds, by brute force, the operator that fft_pad solves for one sample:
// the circular convolution with the flipped kernel on an hp×wp grid, every output
// position (rows Cout·hp·wp, columns Cin·hp·wp).
func circularMatrix(c *Conv2D, hp, wp int) *mat.Dense {
	m, n := c.Cout*hp*wp, c.Cin*hp*wp
	A := mat.NewDense(m, n, nil)
	for co := 0; co < c.Cout; co++ {
		for P := 0; P < hp; P++ {
			for Q := 0; Q < wp; Q++ {
				row := (co*hp+P)*wp + Q
				for ci := 0; ci < c.Cin; ci++ {
					for u := 0; u < c.KH; u++ {
						for v := 0; v < c.KW; v++ {
							r := ((P-(c.KH-1)+u)%hp + hp) % hp
							q := ((Q-(c.KW-1)+v)%wp + wp) % wp
							col := (ci*hp+r)*wp + q
							A.Set(row, col, A.At(row, col)+c.Weight[((co*c.Cin+ci)*c.KH+u)*c.KW+v])
						}
					}
				}
			}
		}
	}
	return A
}

// canvas places a bias-free target (Cout×ho×wo) at the bottom-right of Cout×hp×wp.
func canvas(t []float64, cout, ho, wo, hp, wp int) []float64 {
	out := make([]float64, cout*hp*wp)
	for co := 0; co < cout; co++ {
		for i := 0; i < ho; i++ {
			for j := 0; j < wo; j++ {
				out[(co*hp+hp-ho+i)*wp+wp-wo+j] = t[(co*ho+i)*wo+j]
			}
		}
	}
	return out
}

func maxAbsDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

func noReg() Options {
	o := DefaultOptions()
	o.Regularize = false
	return o
}

func TestConvFFTSquareReproducesTarget(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ c, k, h int }{{3, 5, 12}, {2, 3, 9}, {4, 3, 16}} {
		c := NewConv2D(randSlice(rng, tc.c*tc.c*tc.k*tc.k, 0.3), randSlice(rng, tc.c, 0.1), tc.c, tc.c, tc.k, tc.k)
		n := 3
		xTrue := randSlice(rng, n*tc.c*tc.h*tc.h, 1)
		y := c.Forward(xTrue, n, tc.h, tc.h)
		ho := tc.h - tc.k + 1
		for s := 0; s < n; s++ {
			for co := 0; co < tc.c; co++ {
				for j := 0; j < ho*ho; j++ {
					y[(s*tc.c+co)*ho*ho+j] += c.Bias[co]
				}
			}
		}
		anchor := randSlice(rng, len(xTrue), 1)
		x, d, err := c.Reverse(anchor, n, tc.h, tc.h, y, noReg())
		if err != nil {
			t.Fatal(err)
		}
		if d.RelResid > 1e-9 || d.Method != "conv-fft-square" {
			t.Errorf("%+v: forward(answer) misses the target: %+v", tc, d)
		}
		// With regularisation on and modest values no frequency needs the fallback.
		x2, d2, err := c.Reverse(anchor, n, tc.h, tc.h, y, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		// With regularisation on, only frequencies failing the §2.2 tests (ill-conditioned
		// ones whose exact solution strays far from the anchor) take the fallback.
		nf := tc.h * (tc.h/2 + 1) * n
		if d2.Fallbacks > nf/10 {
			t.Errorf("%+v regularised: %d of %d frequency systems fell back", tc, d2.Fallbacks, nf)
		}
		if d2.Fallbacks == 0 && (maxAbsDiff(x, x2) > 1e-9 || d2.RelResid > 1e-9) {
			t.Errorf("no fallback taken but answers differ by %g", maxAbsDiff(x, x2))
		}
	}
}

// TestConvFFTMatchesCircularProblem checks the three per-frequency solve types against the
// same problem solved densely: the closest point to the anchor (shrink), the exact solve
// (square) and the least-squares solution (expand) of the circular system fft_pad poses.
func TestConvFFTMatchesCircularProblem(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		cin, cout, k, h, w int
	}{{4, 2, 3, 8, 7}, {2, 2, 3, 6, 8}, {1, 3, 3, 7, 6}, {3, 1, 5, 10, 9}} {
		c := NewConv2D(randSlice(rng, tc.cout*tc.cin*tc.k*tc.k, 0.5), nil, tc.cout, tc.cin, tc.k, tc.k)
		ho, wo := c.OutSize(tc.h, tc.w)
		anchor := randSlice(rng, tc.cin*tc.h*tc.w, 1)
		target := randSlice(rng, tc.cout*ho*wo, 1)
		x, _, err := c.Reverse(anchor, 1, tc.h, tc.w, target, noReg())
		if err != nil {
			t.Fatal(err)
		}
		A := circularMatrix(c, tc.h, tc.w)
		b := mat.NewVecDense(tc.cout*tc.h*tc.w, canvas(target, tc.cout, ho, wo, tc.h, tc.w))
		x0 := mat.NewVecDense(len(anchor), anchor)
		var want mat.VecDense
		switch {
		case tc.cin >= tc.cout: // closest point: x0 + Aᵀ(AAᵀ)⁻¹(b − A x0)
			var r, z mat.VecDense
			r.MulVec(A, x0)
			r.SubVec(b, &r)
			var G mat.Dense
			G.Mul(A, A.T())
			if err := z.SolveVec(&G, &r); err != nil {
				t.Fatal(err)
			}
			want.MulVec(A.T(), &z)
			want.AddVec(&want, x0)
		default: // least squares
			if err := want.SolveVec(A, b); err != nil {
				t.Fatal(err)
			}
		}
		if d := maxAbsDiff(x, want.RawVector().Data); d > 1e-8 {
			t.Errorf("%+v: fft answer differs from the dense circular solution by %g", tc, d)
		}
	}
}

func TestConvFFTFallbacks(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	c := NewConv2D(randSlice(rng, 3*3*5*5, 0.3), nil, 3, 3, 5, 5)
	anchor := randSlice(rng, 2*3*12*12, 1)
	target := randSlice(rng, 2*3*8*8, 1e6) // absurd target: every frequency fails the bound
	x, d, err := c.Reverse(anchor, 2, 12, 12, target, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if d.Fallbacks == 0 {
		t.Fatal("huge target took no Tikhonov fallback")
	}
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e3 {
			t.Fatalf("fallback answer not finite and bounded: %g", v)
		}
	}
	// A zero kernel is singular at every frequency: the answer is the anchor.
	z := NewConv2D(make([]float64, 2*2*3*3), nil, 2, 2, 3, 3)
	a := randSlice(rng, 2*6*6, 1)
	x, _, err = z.Reverse(a, 1, 6, 6, randSlice(rng, 2*4*4, 1), noReg())
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(x, a); d > 1e-12 {
		t.Errorf("singular systems should keep the anchor, moved by %g", d)
	}
}

func TestConvFFTPaddingAndBoundary(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	c := NewConv2D(randSlice(rng, 2*2*3*3, 0.4), randSlice(rng, 2, 0.1), 2, 2, 3, 3)
	c.Pad = 1
	h, w := 10, 9
	xTrue := randSlice(rng, 2*h*w, 1)
	y := c.Forward(xTrue, 1, h, w)
	for co := 0; co < 2; co++ {
		for j := 0; j < h*w; j++ {
			y[co*h*w+j] += c.Bias[co]
		}
	}
	// fft_pad solves on the zero-padded grid without constraining the padding ring, so
	// the cropped answer misses the target (spec §4.2.3); it must still be finite.
	x, d, err := c.Reverse(randSlice(rng, len(xTrue), 1), 1, h, w, y, noReg())
	if err != nil {
		t.Fatal(err)
	}
	if math.IsNaN(d.RelResid) || len(x) != len(xTrue) {
		t.Errorf("fft_pad with padding: %+v", d)
	}
	// fft_oldbound with the true input as anchor: the wrap-around correction is exact,
	// so the circular system is consistent and its unique solution is the true input.
	opt := noReg()
	opt.ConvMethod = ConvFFTBoundary
	x, d, err = c.Reverse(xTrue, 1, h, w, y, opt)
	if err != nil {
		t.Fatal(err)
	}
	if md := maxAbsDiff(x, xTrue); md > 1e-8 || d.RelResid > 1e-9 || d.Method != "conv-fftbound-square" {
		t.Errorf("fft_oldbound with exact anchor: max error %g, %+v", md, d)
	}
	// With p = 0 fft_oldbound is fft_pad.
	c.Pad = 0
	a := randSlice(rng, 2*h*w, 1)
	tg := randSlice(rng, 2*(h-2)*(w-2), 1)
	x1, _, _ := c.Reverse(a, 1, h, w, tg, opt)
	x2, _, _ := c.Reverse(a, 1, h, w, tg, noReg())
	if md := maxAbsDiff(x1, x2); md > 1e-12 {
		t.Errorf("fft_oldbound with p=0 differs from fft_pad by %g", md)
	}
	c.Stride = 2
	if _, _, err := c.Reverse(a, 1, h, w, make([]float64, 2*4*4), opt); err == nil {
		t.Error("stride 2 with an FFT method should be refused")
	}
}

// BenchmarkConvFFT times fft_pad on the efficiency problems of the conv bench: batch 2,
// Cin 2, Cout 4 (expand) or 1 (shrink), 5×5 kernel, no padding, no regularisation.
func BenchmarkConvFFT(b *testing.B) {
	for _, cs := range []struct {
		name string
		cout int
	}{{"expand", 4}, {"shrink", 1}} {
		for _, n := range []int{16, 64, 256} {
			rng := rand.New(rand.NewPCG(9, uint64(n)))
			c := NewConv2D(randSlice(rng, cs.cout*2*5*5, 0.3), nil, cs.cout, 2, 5, 5)
			anchor := randSlice(rng, 2*2*n*n, 1)
			target := randSlice(rng, 2*cs.cout*(n-4)*(n-4), 1)
			opt := noReg()
			opt.SkipResidual = true
			b.Run(fmt.Sprintf("%s/%d", cs.name, n), func(b *testing.B) {
				// The first call builds and caches the per-frequency systems.
				if _, _, err := c.Reverse(anchor, 2, n, n, target, opt); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if _, _, err := c.Reverse(anchor, 2, n, n, target, opt); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// solveFreqs gives the bits of the per-frequency cmatVec loop it replaces.
func TestSolveFreqsMatchesCmatVec(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 1))
	for _, d := range [][3]int{{7, 2, 4}, {12, 3, 3}, {5, 1, 6}} {
		nf, cin, cout := d[0], d[1], d[2]
		cr := func(n int) []complex128 {
			v := make([]complex128, n)
			for i := range v {
				v[i] = complex(rng.NormFloat64(), rng.NormFloat64())
			}
			return v
		}
		s, b := cr(nf*cin*cout), cr(cout*nf)
		got := make([]complex128, cin*nf)
		solveFreqs(got, s, b, nf, cin, cout)
		bv, xv := make([]complex128, cout), make([]complex128, cin)
		for f := 0; f < nf; f++ {
			for co := range bv {
				bv[co] = b[co*nf+f]
			}
			cmatVec(xv, s[f*cin*cout:(f+1)*cin*cout], bv, cin, cout)
			for ci, v := range xv {
				if got[ci*nf+f] != v {
					t.Fatalf("%v: frequency %d channel %d: %v, cmatVec %v", d, f, ci, got[ci*nf+f], v)
				}
			}
		}
	}
}

// Reverse never writes into the target, also for bias-free layers, whose target it
// uses in place; batches of one and of several samples give the same answers.
func TestConvReverseLeavesTargetAlone(t *testing.T) {
	rng := rand.New(rand.NewPCG(32, 1))
	for _, cc := range []convCase{{2, 4, 5, 1, 0, 12}, {2, 1, 5, 1, 0, 12}, {3, 2, 3, 1, 1, 9}} {
		for _, bias := range []bool{false, true} {
			c := cvLayer(rng, cc)
			if !bias {
				c.Bias = nil
			}
			const batch = 3
			ho, wo := c.OutSize(cc.h, cc.h)
			x0 := randSlice(rng, batch*cc.cin*cc.h*cc.h, 1)
			target := randSlice(rng, batch*cc.cout*ho*wo, 1)
			keep := append([]float64(nil), target...)
			for _, m := range []ConvMethod{ConvFFTPad, ConvFFTBoundary, ConvDense, ConvCG} {
				opt := DefaultOptions()
				opt.ConvMethod = m
				x, _, err := c.Reverse(x0, batch, cc.h, cc.h, target, opt)
				if err != nil {
					t.Fatalf("%v %s: %v", cc, m, err)
				}
				for i := range keep {
					if target[i] != keep[i] {
						t.Fatalf("%v bias=%v %s: target[%d] changed", cc, bias, m, i)
					}
				}
				if m == ConvCG {
					continue // the batch stopping rule couples the samples' iteration counts
				}
				n, mo := cc.cin*cc.h*cc.h, cc.cout*ho*wo
				x1, _, err := c.Reverse(x0[n:2*n], 1, cc.h, cc.h, target[mo:2*mo], opt)
				if err != nil {
					t.Fatal(err)
				}
				if e := cvRel(x1, x[n:2*n]); e > 1e-12 {
					t.Fatalf("%v bias=%v %s: sample 1 alone differs by %.3g", cc, bias, m, e)
				}
			}
		}
	}
}
