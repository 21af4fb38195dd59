package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
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
// the input, both with packed rows (ld = Ho·Wo) and with rows inside a wider matrix (as
// for grouped samples), and col2im, which overwrites dx, is im2col's adjoint.
func TestIm2colMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	shapes := []ConvShape{
		{N: 1, Cin: 2, H: 7, W: 5, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 1, Cin: 3, H: 6, W: 9, KH: 5, KW: 3, Stride: 2, Pad: 2},
		{N: 1, Cin: 1, H: 4, W: 4, KH: 3, KW: 5, Stride: 3, Pad: 2},
		{N: 1, Cin: 2, H: 3, W: 2, KH: 3, KW: 3, Stride: 1, Pad: 3},
		{N: 1, Cin: 1, H: 11, W: 13, KH: 7, KW: 7, Stride: 2, Pad: 3},
		{N: 1, Cin: 2, H: 6, W: 4, KH: 5, KW: 5, Stride: 1, Pad: 2}, // same size: shifted copies
		{N: 1, Cin: 3, H: 2, W: 3, KH: 5, KW: 5, Stride: 1, Pad: 2}, // same size, taps off the plane
		{N: 1, Cin: 2, H: 3, W: 5, KH: 1, KW: 1, Stride: 1, Pad: 0},
		{N: 1, Cin: 2, H: 4, W: 1, KH: 5, KW: 5, Stride: 1, Pad: 2}, // same size, columns off the plane
		{N: 1, Cin: 1, H: 1, W: 6, KH: 7, KW: 7, Stride: 1, Pad: 3},
		{N: 1, Cin: 3, H: 8, W: 6, KH: 3, KW: 3, Stride: 2, Pad: 1}, // halving (im2colHalve3)
		{N: 1, Cin: 2, H: 5, W: 4, KH: 3, KW: 3, Stride: 2, Pad: 1}, // halving, odd height
		{N: 1, Cin: 2, H: 2, W: 2, KH: 3, KW: 3, Stride: 2, Pad: 1}, // halving to 1×1
		{N: 1, Cin: 2, H: 6, W: 7, KH: 3, KW: 3, Stride: 2, Pad: 1}, // odd width: the general loop
		{N: 1, Cin: 3, H: 8, W: 6, KH: 1, KW: 1, Stride: 2, Pad: 0}, // halving 1×1 (im2colHalve1)
		{N: 1, Cin: 2, H: 5, W: 7, KH: 1, KW: 1, Stride: 2, Pad: 0}, // halving 1×1, odd sizes
	}
	for _, s := range shapes {
		for _, extra := range []int{0, 5} {
			s.Cout = 1
			ho, wo := s.OutSize()
			ld := ho*wo + extra
			x := randSlice(rng, s.Cin*s.H*s.W)
			rows := s.Cin * s.KH * s.KW
			cols := make([]float64, rows*ld)
			for i := range cols {
				cols[i] = math.NaN() // every entry must be written
			}
			im2col(s, x, cols, ld)
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
								if got := cols[((c*s.KH+ky)*s.KW+kx)*ld+oy*wo+ox]; got != want {
									t.Fatalf("%+v ld %d: cols[c%d ky%d kx%d oy%d ox%d] = %v, want %v", s, ld, c, ky, kx, oy, ox, got, want)
								}
							}
						}
					}
				}
			}
			g := randSlice(rng, len(cols))
			for i := 0; i < len(g); i += 7 {
				g[i] = math.Copysign(0, -1) // −0 + 0 is +0: a sum that starts from −0 has other bits
			}
			dx := make([]float64, len(x))
			for i := range dx {
				dx[i] = math.NaN() // col2im overwrites
			}
			col2im(s, g, ld, dx)
			lhs, rhs := 0.0, 0.0
			for r := 0; r < rows; r++ {
				for i := 0; i < ho*wo; i++ {
					lhs += g[r*ld+i] * cols[r*ld+i]
				}
			}
			for i := range x {
				rhs += x[i] * dx[i]
			}
			if math.Abs(lhs-rhs) > 1e-10*(1+math.Abs(lhs)) || math.IsNaN(rhs) {
				t.Fatalf("%+v ld %d: col2im is not the adjoint of im2col: %v vs %v", s, ld, lhs, rhs)
			}
			// the halving paths add in the general loop's order: the same bits
			if l := colLayoutOf(s); l == colHalve3 || l == colHalve1 {
				want := make([]float64, len(x))
				col2imGeneral(s, g, ld, want)
				for i := range want {
					if math.Float64bits(dx[i]) != math.Float64bits(want[i]) {
						t.Fatalf("%+v ld %d: the halving col2im gives dx[%d] = %v, the general loop %v", s, ld, i, dx[i], want[i])
					}
				}
			}
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

// Convolutions with small outputs run several samples through one GEMM (convGroup): with
// one and two workers, ragged last groups, odd sizes, stride 2, bias, and dW computed
// transposed (few output channels) or not, float32 and float64 agree with the
// definition, and dw, db accumulate into what they held.
func TestConvGroupedMatchesReference(t *testing.T) {
	defer func(w int) { Workers = w }(Workers)
	rng := rand.New(rand.NewPCG(13, 14))
	shapes := []ConvShape{
		{N: 7, Cin: 16, H: 4, W: 4, Cout: 24, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 9, Cin: 8, H: 5, W: 5, Cout: 16, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 5, Cin: 12, H: 7, W: 5, Cout: 20, KH: 3, KW: 3, Stride: 2, Pad: 1},
		{N: 6, Cin: 64, H: 6, W: 6, Cout: 16, KH: 1, KW: 1, Stride: 2, Pad: 0},
		{N: 3, Cin: 8, H: 9, W: 11, Cout: 17, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 5, Cin: 4, H: 3, W: 3, Cout: dwTransposedBelow + 3, KH: 3, KW: 3, Stride: 1, Pad: 1}, // dW not transposed
	}
	for _, workers := range []int{1, 2} {
		Workers = workers
		for _, s := range shapes {
			ho, wo := s.OutSize()
			if g := convGroup(s.N, ho*wo); g < 2 && s.N > workers {
				t.Fatalf("%+v: expected grouped samples, got group %d", s, g)
			}
			x, w, b := randSlice(rng, s.N*s.Cin*s.H*s.W), randSlice(rng, s.Cout*s.Cin*s.KH*s.KW), randSlice(rng, s.Cout)
			g := randSlice(rng, s.N*s.Cout*ho*wo)
			want := refConv(s, x, w, b)
			// Reference gradients by the definition: dx = Σ g·w, dw = Σ g·x, db = Σ g.
			wdx, wdw, wdb := make([]float64, len(x)), make([]float64, len(w)), make([]float64, len(b))
			for n := 0; n < s.N; n++ {
				for co := 0; co < s.Cout; co++ {
					for oy := 0; oy < ho; oy++ {
						for ox := 0; ox < wo; ox++ {
							gv := g[((n*s.Cout+co)*ho+oy)*wo+ox]
							wdb[co] += gv
							for ci := 0; ci < s.Cin; ci++ {
								for ky := 0; ky < s.KH; ky++ {
									for kx := 0; kx < s.KW; kx++ {
										iy, ix := oy*s.Stride+ky-s.Pad, ox*s.Stride+kx-s.Pad
										if iy < 0 || iy >= s.H || ix < 0 || ix >= s.W {
											continue
										}
										xi, wi := ((n*s.Cin+ci)*s.H+iy)*s.W+ix, ((co*s.Cin+ci)*s.KH+ky)*s.KW+kx
										wdx[xi] += gv * w[wi]
										wdw[wi] += gv * x[xi]
									}
								}
							}
						}
					}
				}
			}
			check := func(what string, got, want []float64, tol float64) {
				t.Helper()
				for i := range want {
					if math.Abs(got[i]-want[i]) > tol*(1+math.Abs(want[i])) {
						t.Fatalf("workers %d %+v: %s[%d]=%v want %v", workers, s, what, i, got[i], want[i])
					}
				}
			}
			// float64; dw and db start at 1 to check that they are accumulated into.
			y := make([]float64, len(want))
			Conv2dForward(s, x, w, b, y)
			check("y", y, want, 1e-10)
			dx, dw, db := make([]float64, len(x)), make([]float64, len(w)), make([]float64, len(b))
			for i := range dx {
				dx[i] = math.NaN() // overwritten
			}
			for i := range dw {
				dw[i] = 1
			}
			for i := range db {
				db[i] = 1
			}
			Conv2dBackward(s, x, w, g, dx, dw, db)
			for i := range dw {
				dw[i]--
			}
			for i := range db {
				db[i]--
			}
			check("dx", dx, wdx, 1e-10)
			check("dw", dw, wdw, 1e-10)
			check("db", db, wdb, 1e-10)
			// float32
			y32 := make([]float32, len(want))
			Conv2dForward(s, to32(x), to32(w), to32(b), y32)
			check("y32", to64(y32), want, 1e-4)
			dx32, dw32, db32 := make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))
			Conv2dBackward(s, to32(x), to32(w), to32(g), dx32, dw32, db32)
			check("dx32", to64(dx32), wdx, 1e-4)
			check("dw32", to64(dw32), wdw, 1e-3)
			check("db32", to64(db32), wdb, 1e-4)
			// Only dx, only dw, or only db.
			dx32b, dw32b, db32b := make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))
			Conv2dBackward(s, to32(x), to32(w), to32(g), dx32b, nil, nil)
			Conv2dBackward(s, to32(x), to32(w), to32(g), nil, dw32b, nil)
			Conv2dBackward(s, to32(x), to32(w), to32(g), nil, nil, db32b)
			check("dx32 alone", to64(dx32b), wdx, 1e-4)
			check("dw32 alone", to64(dw32b), wdw, 1e-3)
			check("db32 alone", to64(db32b), wdb, 1e-4)
		}
	}
}

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func to32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// BenchmarkConvResNet times the forward and backward passes of the ResNet-18/CIFAR
// convolution shapes (batch 64: stem, the four stages, a downsample) through the float32 path; GFLOP/s counts 2·MACs.
func BenchmarkConvResNet(b *testing.B) {
	for _, s := range []ConvShape{
		{N: 64, Cin: 3, H: 32, W: 32, Cout: 64, KH: 3, KW: 3, Stride: 1, Pad: 1}, // CIFAR stem
		{N: 64, Cin: 64, H: 32, W: 32, Cout: 64, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 64, Cin: 64, H: 32, W: 32, Cout: 128, KH: 3, KW: 3, Stride: 2, Pad: 1},
		{N: 64, Cin: 128, H: 16, W: 16, Cout: 128, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 64, Cin: 128, H: 16, W: 16, Cout: 256, KH: 3, KW: 3, Stride: 2, Pad: 1},
		{N: 64, Cin: 256, H: 8, W: 8, Cout: 256, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 64, Cin: 256, H: 8, W: 8, Cout: 512, KH: 3, KW: 3, Stride: 2, Pad: 1},
		{N: 64, Cin: 512, H: 4, W: 4, Cout: 512, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 64, Cin: 256, H: 8, W: 8, Cout: 512, KH: 1, KW: 1, Stride: 2, Pad: 0},
	} {
		ho, wo := s.OutSize()
		rng := rand.New(rand.NewPCG(1, 1))
		x := to32(randSlice(rng, s.N*s.Cin*s.H*s.W))
		w := to32(randSlice(rng, s.Cout*s.Cin*s.KH*s.KW))
		y := make([]float32, s.N*s.Cout*ho*wo)
		dx, dw := make([]float32, len(x)), make([]float32, len(w))
		flops := 2 * float64(s.N*s.Cout*ho*wo*s.Cin*s.KH*s.KW)
		name := fmt.Sprintf("%dx%d-%dx%d-s%d", s.Cin, s.Cout, s.H, s.W, s.Stride)
		b.Run(name+"/fwd", func(b *testing.B) {
			for b.Loop() {
				Conv2dForward(s, x, w, nil, y)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(name+"/bwd", func(b *testing.B) {
			for b.Loop() {
				Conv2dBackward(s, x, w, y, dx, dw, nil)
			}
			b.ReportMetric(2*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// The register-blocked float32 wide forward (convTaps32) gives the same bits as one axpy
// per kernel tap over the wide rows, for SimpleCNN-like shapes whose wide rows end in
// every residue modulo 64 and 16 (the assembly's block sizes).
func TestConvWideTapsSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, s := range []ConvShape{
		{N: 3, Cin: 1, H: 28, W: 28, Cout: 3, KH: 5, KW: 5, Stride: 1},
		{N: 2, Cin: 3, H: 12, W: 12, Cout: 3, KH: 5, KW: 5, Stride: 1},
		{N: 2, Cin: 2, H: 9, W: 7, Cout: 4, KH: 3, KW: 3, Stride: 1},
		{N: 1, Cin: 3, H: 5, W: 5, Cout: 2, KH: 5, KW: 5, Stride: 1},
		{N: 2, Cin: 5, H: 32, W: 32, Cout: 5, KH: 5, KW: 5, Stride: 1},
	} {
		ho, wo := s.OutSize()
		x, w, b := to32(randSlice(rng, s.N*s.Cin*s.H*s.W)), to32(randSlice(rng, s.Cout*s.Cin*s.KH*s.KW)), to32(randSlice(rng, s.Cout))
		y := make([]float32, s.N*s.Cout*ho*wo)
		Conv2dForward(s, x, w, b, y)
		L := (ho-1)*s.W + wo
		yw := make([]float32, L)
		for n := 0; n < s.N; n++ {
			for co := 0; co < s.Cout; co++ {
				for i := range yw {
					yw[i] = b[co]
				}
				for ci := 0; ci < s.Cin; ci++ {
					for ky := 0; ky < s.KH; ky++ {
						for kx := 0; kx < s.KW; kx++ {
							off := ((n*s.Cin+ci)*s.H+ky)*s.W + kx
							axpy32(w[((co*s.Cin+ci)*s.KH+ky)*s.KW+kx], x[off:], yw)
						}
					}
				}
				for oy := 0; oy < ho; oy++ {
					for ox := 0; ox < wo; ox++ {
						got := y[((n*s.Cout+co)*ho+oy)*wo+ox]
						if want := yw[oy*s.W+ox]; math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("%+v: y[%d,%d,%d,%d]=%v, one axpy per tap gives %v", s, n, co, oy, ox, got, want)
						}
					}
				}
			}
		}
	}
}

// conv2dBackwardPerTap is conv2dBackwardWide as it was before the flipped-kernel input
// gradient: one axpy per (co, ci, tap) for dx, a dot per tap for dw, a plain sum per plane
// for db, chunk partials added in chunk order. The new kernel must give the same bits.
func conv2dBackwardPerTap[F Float](s ConvShape, x, w, dy, dx, dw, db []F) {
	ho, wo := s.OutSize()
	W, plane := s.W, s.H*s.W
	L := (ho-1)*W + wo
	wide := ho * W
	var mu sync.Mutex
	partial := map[int][]F{} // per chunk start: dw then db, summed in chunk order
	Parallel(s.N, 1, func(lo, hi int) {
		dyw := make([]F, s.Cout*wide) // columns ≥ Wo stay zero
		var acc []F
		if dw != nil || db != nil {
			acc = make([]F, len(w)+s.Cout)
		}
		for n := lo; n < hi; n++ {
			dys := dy[n*s.Cout*ho*wo : (n+1)*s.Cout*ho*wo]
			for co := 0; co < s.Cout; co++ {
				for oy := 0; oy < ho; oy++ {
					copy(dyw[co*wide+oy*W:co*wide+oy*W+wo], dys[(co*ho+oy)*wo:(co*ho+oy+1)*wo])
				}
			}
			if dx != nil {
				dxs := dx[n*s.Cin*plane : (n+1)*s.Cin*plane]
				clear(dxs)
				for co := 0; co < s.Cout; co++ {
					g := dyw[co*wide : co*wide+L]
					for ci := 0; ci < s.Cin; ci++ {
						xp := dxs[ci*plane:]
						wk := w[(co*s.Cin+ci)*s.KH*s.KW:]
						for ky := 0; ky < s.KH; ky++ {
							for kx := 0; kx < s.KW; kx++ {
								off := ky*W + kx
								axpy(wk[ky*s.KW+kx], g, xp[off:off+L])
							}
						}
					}
				}
			}
			if acc == nil {
				continue
			}
			xs := x[n*s.Cin*plane : (n+1)*s.Cin*plane]
			for co := 0; co < s.Cout; co++ {
				g := dyw[co*wide : co*wide+L]
				if db != nil {
					var sum F
					for _, v := range dys[co*ho*wo : (co+1)*ho*wo] {
						sum += v
					}
					acc[len(w)+co] += sum
				}
				if dw == nil {
					continue
				}
				for ci := 0; ci < s.Cin; ci++ {
					xp := xs[ci*plane:]
					ak := acc[(co*s.Cin+ci)*s.KH*s.KW:]
					for ky := 0; ky < s.KH; ky++ {
						for kx := 0; kx < s.KW; kx++ {
							ak[ky*s.KW+kx] += dot(xp[ky*W+kx:], g)
						}
					}
				}
			}
		}
		if acc != nil {
			mu.Lock()
			partial[lo] = acc
			mu.Unlock()
		}
	})
	if len(partial) == 0 {
		return
	}
	keys := make([]int, 0, len(partial))
	for k := range partial {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a fixed summation order: the same inputs give the same bits
	for _, k := range keys {
		p := partial[k]
		for i := range dw {
			dw[i] += p[i]
		}
		for i := range db {
			db[i] += p[len(w)+i]
		}
	}
}

func sameBits[F Float](a, b []F) int {
	for i := range a {
		switch av := any(a[i]).(type) {
		case float32:
			if math.Float32bits(av) != math.Float32bits(any(b[i]).(float32)) {
				return i
			}
		case float64:
			if math.Float64bits(av) != math.Float64bits(any(b[i]).(float64)) {
				return i
			}
		}
	}
	return -1
}

func checkBackwardWideSameBits[F Float](t *testing.T, rng *rand.Rand, s ConvShape) {
	t.Helper()
	ho, wo := s.OutSize()
	conv := func(v []float64) []F {
		o := make([]F, len(v))
		for i, x := range v {
			o[i] = F(x)
		}
		return o
	}
	x, w, dy := conv(randSlice(rng, s.N*s.Cin*s.H*s.W)), conv(randSlice(rng, s.Cout*s.Cin*s.KH*s.KW)), conv(randSlice(rng, s.N*s.Cout*ho*wo))
	for i := 0; i < len(dy); i += 7 {
		dy[i] = 0 // zeros (ReLU-masked gradients), some of them negative zeros
		if i%2 == 0 {
			dy[i] = F(math.Copysign(0, -1))
		}
	}
	seed := conv(randSlice(rng, len(w)+s.Cout)) // dw, db accumulate into what they hold
	for _, workers := range []int{1, 2, 3} {
		old := Workers
		Workers = workers
		for _, mode := range []struct{ dx, dw, db bool }{{true, true, true}, {true, false, false}, {false, true, false}, {false, false, true}} {
			var dx, dw, db, rdx, rdw, rdb []F
			if mode.dx {
				dx, rdx = make([]F, len(x)), make([]F, len(x))
				for i := range dx {
					dx[i] = 99 // overwritten
				}
			}
			if mode.dw {
				dw, rdw = append([]F(nil), seed[:len(w)]...), append([]F(nil), seed[:len(w)]...)
			}
			if mode.db {
				db, rdb = append([]F(nil), seed[len(w):]...), append([]F(nil), seed[len(w):]...)
			}
			conv2dBackwardWide(s, x, w, dy, dx, dw, db)
			conv2dBackwardPerTap(s, x, w, dy, rdx, rdw, rdb)
			for _, c := range []struct {
				name      string
				got, want []F
			}{{"dx", dx, rdx}, {"dw", dw, rdw}, {"db", db, rdb}} {
				if i := sameBits(c.got, c.want); i >= 0 {
					t.Fatalf("%T %+v workers %d %+v: %s[%d]=%v, per-tap loop gives %v", F(0), s, workers, mode, c.name, i, c.got[i], c.want[i])
				}
			}
		}
		Workers = old
	}
}

// The flipped-kernel input gradient (every tap in one pass) and the interleaved bias
// sums give the same bits as the per-tap loops, float32 and float64, for the SimpleCNN
// shapes and odd ones (tails of 1–15 outputs, 1×1 and non-square kernels, Cout not a
// multiple of 4), with 1–3 workers.
func TestConvBackwardWideSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, s := range []ConvShape{
		{N: 3, Cin: 1, H: 28, W: 28, Cout: 3, KH: 5, KW: 5, Stride: 1},
		{N: 4, Cin: 3, H: 12, W: 12, Cout: 3, KH: 5, KW: 5, Stride: 1},
		{N: 2, Cin: 2, H: 9, W: 7, Cout: 4, KH: 3, KW: 3, Stride: 1},
		{N: 5, Cin: 3, H: 5, W: 5, Cout: 2, KH: 5, KW: 5, Stride: 1},
		{N: 2, Cin: 5, H: 32, W: 32, Cout: 5, KH: 5, KW: 5, Stride: 1},
		{N: 3, Cin: 2, H: 13, W: 17, Cout: 7, KH: 2, KW: 4, Stride: 1},
		{N: 2, Cin: 3, H: 6, W: 11, Cout: 1, KH: 1, KW: 1, Stride: 1},
		{N: 1, Cin: 1, H: 31, W: 3, Cout: 6, KH: 3, KW: 1, Stride: 1},
	} {
		checkBackwardWideSameBits[float32](t, rng, s)
		checkBackwardWideSameBits[float64](t, rng, s)
	}
}

// BenchmarkConvWideSimpleCNN times the wide kernels on a batch of 256 MNIST SimpleCNN v2
// samples as post-training at z1 runs them: conv1 forward and its weight and bias
// gradient, conv2 forward and its input gradient ("old" is the per-tap backward).
func BenchmarkConvWideSimpleCNN(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	c1 := ConvShape{N: 256, Cin: 1, H: 28, W: 28, Cout: 3, KH: 5, KW: 5, Stride: 1}
	c2 := ConvShape{N: 256, Cin: 3, H: 12, W: 12, Cout: 3, KH: 5, KW: 5, Stride: 1}
	data := func(s ConvShape) (x, w, bias, y []float32) {
		ho, wo := s.OutSize()
		return to32(randSlice(rng, s.N*s.Cin*s.H*s.W)), to32(randSlice(rng, s.Cout*s.Cin*s.KH*s.KW)), to32(randSlice(rng, s.Cout)), to32(randSlice(rng, s.N*s.Cout*ho*wo))
	}
	x1, w1, b1, y1 := data(c1)
	x2, w2, b2, y2 := data(c2)
	dw, db, dx := make([]float32, len(w1)), make([]float32, len(b1)), make([]float32, len(x2))
	for _, bc := range []struct {
		name string
		fn   func()
	}{
		{"conv1-forward", func() { Conv2dForward(c1, x1, w1, b1, y1) }},
		{"conv1-dw-db", func() { Conv2dBackward(c1, x1, w1, y1, nil, dw, db) }},
		{"conv1-dw-db-old", func() { conv2dBackwardPerTap(c1, x1, w1, y1, nil, dw, db) }},
		{"conv2-forward", func() { Conv2dForward(c2, x2, w2, b2, y2) }},
		{"conv2-dx", func() { Conv2dBackward(c2, x2, w2, y2, dx, nil, nil) }},
		{"conv2-dx-old", func() { conv2dBackwardPerTap(c2, x2, w2, y2, dx, nil, nil) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				bc.fn()
			}
		})
	}
}

// convTaps32 (AVX-512 blocks of 64 and 16 and a masked tail) gives the same bits as one
// axpy per tap for every length 0–150, with the last tap reading up to the end of x.
func TestConvTapsSameBitsAllLengths(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for n := 0; n <= 150; n++ {
		for _, taps := range []int{1, 3, 25, 75} {
			offs := make([]int32, taps)
			maxOff := 0
			for i := range offs {
				offs[i] = int32(rng.IntN(40))
				maxOff = max(maxOff, int(offs[i]))
			}
			x := to32(randSlice(rng, maxOff+n))
			w := to32(randSlice(rng, taps))
			y := to32(randSlice(rng, n))
			want := append([]float32(nil), y...)
			for i, o := range offs {
				axpyGo(w[i], x[o:], want) // plain y += a·x: FMA bits only where the SIMD path fuses
			}
			ref := append([]float32(nil), y...)
			for i, o := range offs {
				axpy(w[i], x[o:], ref)
			}
			convTaps32(x, offs, w, y)
			if i := sameBits(y, ref); i >= 0 {
				t.Fatalf("len %d, %d taps: y[%d]=%v, one axpy per tap gives %v", n, taps, i, y[i], ref[i])
			}
			for i := range y {
				if d := math.Abs(float64(y[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("len %d, %d taps: y[%d]=%v, want %v", n, taps, i, y[i], want[i])
				}
			}
		}
	}
}

// convTapsMulti32 (c outputs sharing the input loads: AVX-512 kernels for c = 2–4) gives
// the bits of one convTaps32 per output, for every length 0–150 and 1–80 taps.
func TestConvTapsMultiSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for c := 1; c <= 5; c++ {
		for n := 0; n <= 150; n += 1 + rng.IntN(4) {
			taps := 1 + rng.IntN(80)
			offs := make([]int32, taps)
			maxOff := 0
			for i := range offs {
				offs[i] = int32(rng.IntN(60))
				maxOff = max(maxOff, int(offs[i]))
			}
			x := to32(randSlice(rng, maxOff+n))
			w := to32(randSlice(rng, c*taps)) // w[ch*taps+t]
			wI := make([]float32, len(w))
			for ch := 0; ch < c; ch++ {
				for i := 0; i < taps; i++ {
					wI[i*c+ch] = w[ch*taps+i]
				}
			}
			y := to32(randSlice(rng, c*n))
			want := append([]float32(nil), y...)
			for ch := 0; ch < c; ch++ {
				convTaps32(x, offs, w[ch*taps:(ch+1)*taps], want[ch*n:(ch+1)*n])
			}
			convTapsMulti32(x, offs, wI, y, n, c)
			if i := sameBits(y, want); i >= 0 {
				t.Fatalf("c %d, len %d, %d taps: y[%d]=%v, convTaps32 gives %v", c, n, taps, i, y[i], want[i])
			}
		}
	}
}

// Conv2dBackwardAdd gives the bits of Conv2dBackward followed by an Add into dx, and
// the same weight and bias gradients, on the Winograd path and on the default kernels
// (stride 2, 1×1, float64).
func TestConv2dBackwardAddSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 8))
	shapes := []ConvShape{
		{N: 4, Cin: 32, H: 12, W: 12, Cout: 48, KH: 3, KW: 3, Stride: 1, Pad: 1}, // Winograd where the CPU has it
		{N: 3, Cin: 16, H: 9, W: 9, Cout: 32, KH: 3, KW: 3, Stride: 2, Pad: 1},
		{N: 2, Cin: 16, H: 8, W: 8, Cout: 32, KH: 1, KW: 1, Stride: 2, Pad: 0},
	}
	for _, s := range shapes {
		ho, wo := s.OutSize()
		x, w := randSlice32(rng, s.N*s.Cin*s.H*s.W), randSlice32(rng, s.Cout*s.Cin*s.KH*s.KW)
		dy, base := randSlice32(rng, s.N*s.Cout*ho*wo), randSlice32(rng, len(x))
		t.Run(fmt.Sprintf("%+v/float32", s), func(t *testing.T) { checkBackwardAdd(t, s, x, w, dy, base) })
		t.Run(fmt.Sprintf("%+v/float64", s), func(t *testing.T) {
			checkBackwardAdd(t, s, to64(x), to64(w), to64(dy), to64(base))
		})
	}
}

func checkBackwardAdd[F Float](t *testing.T, s ConvShape, x, w, dy, base []F) {
	dx0, dw0, db0 := make([]F, len(x)), make([]F, len(w)), make([]F, s.Cout)
	Conv2dBackward(s, x, w, dy, dx0, dw0, db0)
	want := make([]F, len(x))
	Add(dx0, base, want)
	dx, dw, db := slices.Clone(base), make([]F, len(w)), make([]F, s.Cout)
	Conv2dBackwardAdd(s, x, w, dy, dx, dw, db)
	for _, c := range []struct {
		name      string
		got, want []F
	}{{"dx", dx, want}, {"dw", dw, dw0}, {"db", db, db0}} {
		for i := range c.got {
			if c.got[i] != c.want[i] || math.Signbit(float64(c.got[i])) != math.Signbit(float64(c.want[i])) {
				t.Fatalf("%s[%d] = %v, want %v", c.name, i, c.got[i], c.want[i])
			}
		}
	}
}
