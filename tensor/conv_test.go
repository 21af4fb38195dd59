package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refConv is the plain 7-loop definition of a padded, strided cross-correlation.
func refConv(s ConvShape, x, w, b []float64) []float64 {
	ho, wo := s.OutSize()
	y := make([]float64, s.N*s.Cout*ho*wo)
	for n := 0; n < s.N; n++ {
		for co := 0; co < s.Cout; co++ {
			for oy := 0; oy < ho; oy++ {
				for ox := 0; ox < wo; ox++ {
					acc := 0.0
					if b != nil {
						acc = b[co]
					}
					for ci := 0; ci < s.Cin; ci++ {
						for ky := 0; ky < s.KH; ky++ {
							for kx := 0; kx < s.KW; kx++ {
								iy, ix := oy*s.Stride+ky-s.Pad, ox*s.Stride+kx-s.Pad
								if iy >= 0 && iy < s.H && ix >= 0 && ix < s.W {
									acc += x[((n*s.Cin+ci)*s.H+iy)*s.W+ix] * w[((co*s.Cin+ci)*s.KH+ky)*s.KW+kx]
								}
							}
						}
					}
					y[((n*s.Cout+co)*ho+oy)*wo+ox] = acc
				}
			}
		}
	}
	return y
}

func randSlice(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

// Both the direct and the im2col path agree with the definition, and their backward is
// the exact adjoint: <conv(x), g> = <x, dx(g)> and dw matches finite-free derivation
// (dw[k] = Σ g·x-shifted computed through the reference on unit weights).
func TestConvPathsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := []ConvShape{
		{N: 2, Cin: 1, H: 9, W: 7, Cout: 3, KH: 5, KW: 5, Stride: 1, Pad: 0},
		{N: 3, Cin: 3, H: 8, W: 8, Cout: 2, KH: 3, KW: 3, Stride: 2, Pad: 1},
		{N: 2, Cin: 8, H: 7, W: 6, Cout: 16, KH: 3, KW: 3, Stride: 1, Pad: 1},  // im2col path
		{N: 2, Cin: 16, H: 9, W: 9, Cout: 17, KH: 3, KW: 3, Stride: 2, Pad: 1}, // im2col, strided
		{N: 1, Cin: 4, H: 5, W: 5, Cout: 32, KH: 1, KW: 1, Stride: 2, Pad: 0},
	}
	for _, s := range shapes {
		ho, wo := s.OutSize()
		x, w, b := randSlice(rng, s.N*s.Cin*s.H*s.W), randSlice(rng, s.Cout*s.Cin*s.KH*s.KW), randSlice(rng, s.Cout)
		y := make([]float64, s.N*s.Cout*ho*wo)
		Conv2dForward(s, x, w, b, y)
		want := refConv(s, x, w, b)
		for i := range y {
			if math.Abs(y[i]-want[i]) > 1e-10 {
				t.Fatalf("%+v: y[%d]=%v want %v", s, i, y[i], want[i])
			}
		}
		g := randSlice(rng, len(y))
		dx, dw, db := make([]float64, len(x)), make([]float64, len(w)), make([]float64, len(b))
		Conv2dBackward(s, x, w, g, dx, dw, db)
		// <conv(x) − b, g> = <x, dx>
		yNoBias := refConv(s, x, w, nil)
		lhs, rhs := 0.0, 0.0
		for i := range g {
			lhs += yNoBias[i] * g[i]
		}
		for i := range x {
			rhs += x[i] * dx[i]
		}
		if math.Abs(lhs-rhs) > 1e-9*(1+math.Abs(lhs)) {
			t.Fatalf("%+v: adjoint mismatch %v vs %v", s, lhs, rhs)
		}
		// <conv(x) − b, g> is linear in w too: = <w, dw>
		rhs = 0
		for i := range w {
			rhs += w[i] * dw[i]
		}
		if math.Abs(lhs-rhs) > 1e-9*(1+math.Abs(lhs)) {
			t.Fatalf("%+v: weight gradient mismatch %v vs %v", s, lhs, rhs)
		}
		for co := range b {
			sum := 0.0
			for n := 0; n < s.N; n++ {
				for i := 0; i < ho*wo; i++ {
					sum += g[(n*s.Cout+co)*ho*wo+i]
				}
			}
			if math.Abs(sum-db[co]) > 1e-9 {
				t.Fatalf("db[%d]=%v want %v", co, db[co], sum)
			}
		}
	}
}

func TestGemmGoMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sz := range [][3]int{{1, 1, 1}, {5, 7, 3}, {33, 65, 17}, {70, 41, 129}, {128, 64, 96}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				a, b := make([]float32, m*k), make([]float32, k*n)
				for i := range a {
					a[i] = float32(rng.NormFloat64())
				}
				for i := range b {
					b[i] = float32(rng.NormFloat64())
				}
				lda, ldb := k, n
				if ta {
					lda = m
				}
				if tb {
					ldb = k
				}
				c, want := make([]float32, m*n), make([]float32, m*n)
				for i := range c {
					c[i] = float32(rng.NormFloat64())
					want[i] = c[i]
				}
				Sgemm(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 2, c, n)
				SgemmRef(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 2, want, n)
				for i := range c {
					if math.Abs(float64(c[i]-want[i])) > 1e-4*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("%v ta=%v tb=%v: c[%d]=%v want %v", sz, ta, tb, i, c[i], want[i])
					}
				}
			}
		}
	}
}

// im2col and col2im agree with their definition (cols[(c,ky,kx),(oy,ox)] = x[c, oy·s+ky−p,
// ox·s+kx−p] or 0) on shapes with wide padding, large strides and kernels that overhang
// the input, and col2im is im2col's adjoint.
func TestIm2colMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	shapes := []ConvShape{
		{N: 1, Cin: 2, H: 7, W: 5, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 1, Cin: 3, H: 6, W: 9, KH: 5, KW: 3, Stride: 2, Pad: 2},
		{N: 1, Cin: 1, H: 4, W: 4, KH: 3, KW: 5, Stride: 3, Pad: 2},
		{N: 1, Cin: 2, H: 3, W: 2, KH: 3, KW: 3, Stride: 1, Pad: 3},
		{N: 1, Cin: 1, H: 11, W: 13, KH: 7, KW: 7, Stride: 2, Pad: 3},
	}
	for _, s := range shapes {
		s.Cout = 1
		ho, wo := s.OutSize()
		x := randSlice(rng, s.Cin*s.H*s.W)
		cols := make([]float64, s.Cin*s.KH*s.KW*ho*wo)
		for i := range cols {
			cols[i] = math.NaN() // every entry must be written
		}
		im2col(s, x, cols)
		for c := 0; c < s.Cin; c++ {
			for ky := 0; ky < s.KH; ky++ {
				for kx := 0; kx < s.KW; kx++ {
					for oy := 0; oy < ho; oy++ {
						for ox := 0; ox < wo; ox++ {
							iy, ix := oy*s.Stride+ky-s.Pad, ox*s.Stride+kx-s.Pad
							want := 0.0
							if iy >= 0 && iy < s.H && ix >= 0 && ix < s.W {
								want = x[(c*s.H+iy)*s.W+ix]
							}
							if got := cols[(((c*s.KH+ky)*s.KW+kx)*ho+oy)*wo+ox]; got != want {
								t.Fatalf("%+v: cols[c%d ky%d kx%d oy%d ox%d] = %v, want %v", s, c, ky, kx, oy, ox, got, want)
							}
						}
					}
				}
			}
		}
		g := randSlice(rng, len(cols))
		dx := make([]float64, len(x))
		col2im(s, g, dx)
		lhs, rhs := 0.0, 0.0
		for i := range g {
			lhs += g[i] * cols[i]
		}
		for i := range x {
			rhs += x[i] * dx[i]
		}
		if math.Abs(lhs-rhs) > 1e-10*(1+math.Abs(lhs)) {
			t.Fatalf("%+v: col2im is not the adjoint of im2col: %v vs %v", s, lhs, rhs)
		}
	}
}

// The float32 convolution, which runs its per-sample GEMMs through the SIMD SGEMM, agrees
// with the float64 definition.
func TestConvFloat32MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, s := range []ConvShape{
		{N: 3, Cin: 16, H: 12, W: 11, Cout: 33, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 2, Cin: 32, H: 9, W: 9, Cout: 64, KH: 3, KW: 3, Stride: 2, Pad: 1},
		{N: 2, Cin: 8, H: 16, W: 16, Cout: 16, KH: 1, KW: 1, Stride: 2, Pad: 0},
	} {
		ho, wo := s.OutSize()
		x, w, b := randSlice(rng, s.N*s.Cin*s.H*s.W), randSlice(rng, s.Cout*s.Cin*s.KH*s.KW), randSlice(rng, s.Cout)
		want := refConv(s, x, w, b)
		y := make([]float32, s.N*s.Cout*ho*wo)
		Conv2dForward(s, to32(x), to32(w), to32(b), y)
		for i := range y {
			if math.Abs(float64(y[i])-want[i]) > 1e-4*(1+math.Abs(want[i])) {
				t.Fatalf("%+v: y[%d]=%v want %v", s, i, y[i], want[i])
			}
		}
		g := randSlice(rng, len(y))
		dx, dw := make([]float64, len(x)), make([]float64, len(w))
		Conv2dBackward(s, x, w, g, dx, dw, nil)
		dx32, dw32 := make([]float32, len(x)), make([]float32, len(w))
		Conv2dBackward(s, to32(x), to32(w), to32(g), dx32, dw32, nil)
		for i := range dx {
			if math.Abs(float64(dx32[i])-dx[i]) > 1e-4*(1+math.Abs(dx[i])) {
				t.Fatalf("%+v: dx[%d]=%v want %v", s, i, dx32[i], dx[i])
			}
		}
		for i := range dw {
			if math.Abs(float64(dw32[i])-dw[i]) > 1e-3*(1+math.Abs(dw[i])) {
				t.Fatalf("%+v: dw[%d]=%v want %v", s, i, dw32[i], dw[i])
			}
		}
	}
}

func to32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
