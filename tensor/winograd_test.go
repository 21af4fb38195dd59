package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// winoTestShapes are random eligible shapes: odd and even sizes, padding 0 and 1,
// batch 1, channels 16 … 128, plus fixed corner cases.
func winoTestShapes(rng *rand.Rand) []ConvShape {
	shapes := []ConvShape{
		{N: 1, Cin: 16, H: 3, W: 3, Cout: 16, Pad: 0},    // one 1×1 output
		{N: 1, Cin: 16, H: 5, W: 7, Cout: 24, Pad: 1},    // odd, batch 1
		{N: 2, Cin: 64, H: 32, W: 32, Cout: 64, Pad: 1},  // the bench row's layer, small batch
		{N: 3, Cin: 128, H: 9, W: 11, Cout: 32, Pad: 0},  // odd, wide channels
		{N: 1, Cin: 32, H: 17, W: 13, Cout: 128, Pad: 1}, // odd, batch 1
		{N: 2, Cin: 32, H: 8, W: 8, Cout: 32, Pad: 1},    // rows narrower than 16: two per transpose
		{N: 3, Cin: 16, H: 5, W: 4, Cout: 16, Pad: 0},    // four per transpose, a partial group left
		{N: 2, Cin: 48, H: 4, W: 4, Cout: 16, Pad: 1},
		{N: 1, Cin: 16, H: 6, W: 2, Cout: 16, Pad: 1},
	}
	for i := 0; i < 6; i++ {
		shapes = append(shapes, ConvShape{
			N: 1 + rng.IntN(3), Cin: 16 + rng.IntN(113), H: 3 + rng.IntN(20), W: 3 + rng.IntN(20),
			Cout: 16 + rng.IntN(113), Pad: rng.IntN(2),
		})
	}
	for i := range shapes {
		shapes[i].KH, shapes[i].KW, shapes[i].Stride = 3, 3, 1
	}
	return shapes
}

func randSlice32(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// relErr is ‖got − want‖₂ / ‖want‖₂ and the largest |got − want| / max |want|.
func relErr(got, want []float32) (float64, float64) {
	var d2, w2, dmax, wmax float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		d2 += d * d
		w2 += float64(want[i]) * float64(want[i])
		dmax = max(dmax, math.Abs(d))
		wmax = max(wmax, math.Abs(float64(want[i])))
	}
	return math.Sqrt(d2 / w2), dmax / wmax
}

func checkRel(t *testing.T, what string, got, want []float32) {
	t.Helper()
	norm, elem := relErr(got, want)
	if !(norm <= 1e-4 && elem <= 1e-4) {
		t.Errorf("%s: relative error %.3g (norm), %.3g (max element) > 1e-4", what, norm, elem)
	}
}

// The Winograd forward pass, input gradient and weight gradient, F(4×4, 3×3) and
// F(2×2, 3×3), agree with the default (direct / im2col) kernels within 1e-4, and the
// default kernels agree with the float64 definition.
func TestWinogradMatchesDirect(t *testing.T) {
	forEachWinoKernels(t, testWinogradMatchesDirect)
}

// forEachWinoKernels runs check with each kernel set this CPU has (AVX-512, AVX2), or once
// with the portable loops where there is none, and restores the default set.
func forEachWinoKernels(t *testing.T, check func(t *testing.T)) {
	sets := winoKernelSets()
	if len(sets) == 0 {
		check(t)
		return
	}
	defer useWinoKernels(sets[0])
	for _, avx512 := range sets {
		useWinoKernels(avx512)
		name := "avx2"
		if avx512 {
			name = "avx512"
		}
		t.Run(name, check)
	}
}

func testWinogradMatchesDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	for _, s := range winoTestShapes(rng) {
		if !winoEligible(s) {
			t.Fatalf("%+v: test shape not eligible", s)
		}
		ho, wo := s.OutSize()
		x, w, b := randSlice32(rng, s.N*s.Cin*s.H*s.W), randSlice32(rng, s.Cout*s.Cin*9), randSlice32(rng, s.Cout)
		dy := randSlice32(rng, s.N*s.Cout*ho*wo)
		y0 := make([]float32, len(dy))
		conv2dForwardDefault(s, x, w, b, y0)
		dx0, dw0 := make([]float32, len(x)), make([]float32, len(w))
		conv2dBackwardDefault(s, x, w, dy, dx0, dw0, nil)
		for _, a := range []conv3x3Algo{4, 2} {
			for _, small := range []bool{false, true} {
				name := fmt.Sprintf("%dx%d-%dx%d-p%d-b%d/%s", s.Cin, s.Cout, s.H, s.W, s.Pad, s.N, a)
				if small {
					name += " (one tile row per block, two per chunk)"
				}
				plan := func(p *winoPlan) *winoPlan {
					if small {
						smallBlocks(p)
					}
					return p
				}
				y := make([]float32, len(y0))
				for i := range y {
					y[i] = float32(math.NaN()) // must be overwritten
				}
				plan(winoPlanFor(s, a)).forward(x, w, b, y, false)
				checkRel(t, name+" forward", y, y0)
				dx := make([]float32, len(x))
				for i := range dx {
					dx[i] = float32(math.NaN())
				}
				plan(winoInputGradPlan(s, a)).inputGrad(w, dy, dx, false)
				checkRel(t, name+" input gradient", dx, dx0)
				// with add set, the same gradient is added to what dx holds, bit for bit
				acc := make([]float32, len(x))
				for i := range acc {
					acc[i] = float32(i%11) - 5.5
				}
				want := make([]float32, len(x))
				Add(dx, acc, want)
				plan(winoInputGradPlan(s, a)).inputGrad(w, dy, acc, true)
				for i := range acc {
					if math.Float32bits(acc[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s: input gradient added at %d: %v, want %v", name, i, acc[i], want[i])
					}
				}
				// dw accumulates: start from 1 and compare with 1 + dw0, in both summation orders
				for _, byBlock := range []bool{false, true} {
					dw, want := make([]float32, len(w)), make([]float32, len(w))
					for i := range dw {
						dw[i], want[i] = 1, 1+dw0[i]
					}
					p := plan(winoPlanFor(s, a))
					p.byBlock = byBlock
					p.weightGrad(x, dy, dw)
					checkRel(t, fmt.Sprintf("%s weight gradient (by block %v)", name, byBlock), dw, want)
				}
			}
		}
	}
}

// smallBlocks makes p run one tile row per block and two per weight-gradient chunk, so
// that the small test shapes cross block and chunk boundaries.
func smallBlocks(p *winoPlan) {
	p.rb, p.gradRows = 1, min(2, p.rows)
	p.tb = p.tw
	p.tbr = roundUp(p.tb, winoTileRows)
}

// The default kernels the Winograd test compares with agree with the float64
// definition on an eligible shape (so the comparison is against a checked route).
func TestWinogradReferenceIsDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 2))
	s := ConvShape{N: 2, Cin: 16, H: 7, W: 9, Cout: 20, KH: 3, KW: 3, Stride: 1, Pad: 1}
	x, w, b := randSlice32(rng, s.N*s.Cin*s.H*s.W), randSlice32(rng, s.Cout*s.Cin*9), randSlice32(rng, s.Cout)
	ho, wo := s.OutSize()
	y := make([]float32, s.N*s.Cout*ho*wo)
	conv2dForwardDefault(s, x, w, b, y)
	want := refConv(s, to64(x), to64(w), to64(b))
	checkRel(t, "default forward vs definition", y, to32(want))
}

// Through the public entry points with each forced path (and the measured choice),
// Conv2dForward and Conv2dBackward give the default results within 1e-4, including
// the bias gradient and partial requests (dx only, dw only).
func TestConv2dSelectorPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 3))
	s := ConvShape{N: 2, Cin: 32, H: 11, W: 10, Cout: 48, KH: 3, KW: 3, Stride: 1, Pad: 1}
	ho, wo := s.OutSize()
	x, w, b := randSlice32(rng, s.N*s.Cin*s.H*s.W), randSlice32(rng, s.Cout*s.Cin*9), randSlice32(rng, s.Cout)
	dy := randSlice32(rng, s.N*s.Cout*ho*wo)
	y0 := make([]float32, len(dy))
	conv2dForwardDefault(s, x, w, b, y0)
	dx0, dw0, db0 := make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))
	conv2dBackwardDefault(s, x, w, dy, dx0, dw0, db0)
	prev, err := SetConv3x3Path(Conv3x3Auto)
	if err != nil {
		t.Fatal(err)
	}
	defer SetConv3x3Path(prev)
	for _, path := range []string{Conv3x3Default, Conv3x3Winograd, Conv3x3Winograd2, Conv3x3Auto} {
		if _, err := SetConv3x3Path(path); err != nil {
			t.Fatal(err)
		}
		y := make([]float32, len(y0))
		Conv2dForward(s, x, w, b, y)
		checkRel(t, path+" forward", y, y0)
		dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))
		Conv2dBackward(s, x, w, dy, dx, dw, db)
		checkRel(t, path+" dx", dx, dx0)
		checkRel(t, path+" dw", dw, dw0)
		checkRel(t, path+" db", db, db0)
		dxOnly := make([]float32, len(x))
		Conv2dBackward(s, x, w, dy, dxOnly, nil, nil)
		checkRel(t, path+" dx only", dxOnly, dx0)
		dwOnly := make([]float32, len(w))
		Conv2dBackward(s, x, w, dy, nil, dwOnly, nil)
		checkRel(t, path+" dw only", dwOnly, dw0)
	}
	if _, err := SetConv3x3Path("fastest"); err == nil {
		t.Error("SetConv3x3Path accepted an unknown path")
	}
}

// The "auto" rule on ResNet-18's layers: F(4×4) at 32×32 and 16×16 and for calls of
// at least 1024 output pixels, F(2×2) for the forward pass and input gradient of smaller
// maps below that (8×8 at batch 8, 4×4 at batch 32), F(4×4) for their weight gradients,
// and the default kernels for small calls (N·Ho·Wo < 512) and ineligible shapes.
func TestConv3x3Rule(t *testing.T) {
	if !winoSIMD {
		for _, pass := range []conv3x3Pass{passForward, passInputGrad, passWeightGrad} {
			if a := conv3x3Rule(ConvShape{N: 64, Cin: 64, H: 32, W: 32, Cout: 64, KH: 3, KW: 3, Stride: 1, Pad: 1}, pass); a != 0 {
				t.Errorf("pass %d: %s without the fast Winograd kernels", pass, a)
			}
		}
		return
	}
	cases := []struct {
		n, c, hw    int
		fwd, dx, dw conv3x3Algo
	}{
		{64, 64, 32, 4, 4, 4},
		{64, 128, 16, 4, 4, 4},
		{64, 256, 8, 4, 4, 4},
		{64, 512, 4, 4, 4, 4},
		{64, 256, 7, 4, 4, 4}, // ResNet-18 on MNIST: 3136 output pixels
		{16, 256, 8, 4, 4, 4}, // 1024
		{8, 256, 8, 2, 2, 4},  // 512
		{32, 512, 4, 2, 2, 4}, // 512
		{16, 512, 4, 0, 0, 0}, // 256
		{8, 64, 32, 4, 4, 4},
		{8, 512, 4, 0, 0, 0}, // 128 output pixels
		{1, 16, 16, 0, 0, 0}, // 256
	}
	for _, c := range cases {
		s := ConvShape{N: c.n, Cin: c.c, H: c.hw, W: c.hw, Cout: c.c, KH: 3, KW: 3, Stride: 1, Pad: 1}
		got := [3]conv3x3Algo{conv3x3Rule(s, passForward), conv3x3Rule(s, passInputGrad), conv3x3Rule(s, passWeightGrad)}
		if want := [3]conv3x3Algo{c.fwd, c.dx, c.dw}; got != want {
			t.Errorf("%d×%d ch %d×%d: rule gives %v, want %v", c.n, c.c, c.hw, c.hw, got, want)
		}
	}
	// ineligible shapes never reach the rule: Conv2dForward with "auto" equals the default kernels bit for bit
	rng := rand.New(rand.NewPCG(13, 5))
	s := ConvShape{N: 64, Cin: 8, H: 8, W: 8, Cout: 16, KH: 3, KW: 3, Stride: 1, Pad: 1}
	x, w := randSlice32(rng, s.N*s.Cin*s.H*s.W), randSlice32(rng, s.Cout*s.Cin*9)
	y0, y := make([]float32, s.N*s.Cout*64), make([]float32, s.N*s.Cout*64)
	conv2dForwardDefault(s, x, w, nil, y0)
	Conv2dForward(s, x, w, nil, y)
	for i := range y {
		if math.Float32bits(y[i]) != math.Float32bits(y0[i]) {
			t.Fatalf("8 input channels: auto path differs from the default kernels at %d", i)
		}
	}
}

// Same inputs, same bits: the Winograd paths are deterministic across calls.
func TestWinogradSameBits(t *testing.T) { forEachWinoKernels(t, testWinogradSameBits) }

func testWinogradSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 4))
	s := ConvShape{N: 3, Cin: 24, H: 13, W: 13, Cout: 40, KH: 3, KW: 3, Stride: 1, Pad: 1}
	x, w := randSlice32(rng, s.N*s.Cin*s.H*s.W), randSlice32(rng, s.Cout*s.Cin*9)
	ho, wo := s.OutSize()
	dy := randSlice32(rng, s.N*s.Cout*ho*wo)
	for _, a := range []conv3x3Algo{4, 2} {
		var ys, dws [2][]float32
		for r := range ys {
			ys[r] = make([]float32, len(dy))
			winoPlanFor(s, a).forward(x, w, nil, ys[r], false)
			dws[r] = make([]float32, len(w))
			winoPlanFor(s, a).weightGrad(x, dy, dws[r])
		}
		for i := range ys[0] {
			if math.Float32bits(ys[0][i]) != math.Float32bits(ys[1][i]) {
				t.Fatalf("%s forward: bits differ at %d", a, i)
			}
		}
		for i := range dws[0] {
			if math.Float32bits(dws[0][i]) != math.Float32bits(dws[1][i]) {
				t.Fatalf("%s weight gradient: bits differ at %d", a, i)
			}
		}
	}
}

// The bias is added as the output is stored: the bits of the product without bias plus
// b[co], value by value (b has a −0 and a +0 channel; the product some exact zeros).
func TestWinogradBiasSameBits(t *testing.T) { forEachWinoKernels(t, testWinogradBiasSameBits) }

func testWinogradBiasSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 5))
	s := ConvShape{N: 2, Cin: 20, H: 11, W: 14, Cout: 37, KH: 3, KW: 3, Stride: 1, Pad: 1}
	x, w, b := randSlice32(rng, s.N*s.Cin*s.H*s.W), randSlice32(rng, s.Cout*s.Cin*9), randSlice32(rng, s.Cout)
	for i := range w[:9*s.Cin] { // output channel 0 is exactly 0 everywhere
		w[i] = 0
	}
	b[0], b[1] = float32(math.Copysign(0, -1)), 0
	ho, wo := s.OutSize()
	for _, a := range []conv3x3Algo{4, 2} {
		want, got := make([]float32, s.N*s.Cout*ho*wo), make([]float32, s.N*s.Cout*ho*wo)
		winoPlanFor(s, a).forward(x, w, nil, want, false)
		for i := range want {
			want[i] += b[i/(ho*wo)%s.Cout]
		}
		winoPlanFor(s, a).forward(x, w, b, got, false)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: y[%d] = %v (%#x), want %v (%#x)", a, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
		}
	}
}

// skewPoint gives every Winograd point stride an odd number of cache lines, at most one
// line longer than the data: the a² streams of a tile then fall in different cache sets.
func TestSkewPoint(t *testing.T) {
	for n := 16; n <= 1<<16; n += 16 {
		s := skewPoint(n)
		if s < n || s > n+16 || s%16 != 0 || s/16%2 != 1 {
			t.Fatalf("skewPoint(%d) = %d: want the least odd number of 16-float lines ≥ %d", n, s, n)
		}
	}
	// ResNet-18's 512-channel 4×4 layer: its U points would be 1 MiB apart without the skew
	p := newWinoPlan(winoF4, 64, 512, 4, 4, 512, 1)
	for name, st := range map[string]int{"V": p.vx, "M": p.mx, "D": p.ddx, "U": p.ux, "dU": p.dux} {
		if st*4%4096 == 0 {
			t.Errorf("%s: point stride %d floats is a whole number of pages", name, st)
		}
	}
}
