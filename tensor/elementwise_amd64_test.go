//go:build amd64 && !purego && !openblas

package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// forEachElementwiseSet runs check with each element-wise kernel set this CPU has
// (AVX-512, AVX2); it skips when there is none.
func forEachElementwiseSet(t *testing.T, check func(t *testing.T, set int)) {
	sets := elementwiseSets()
	if len(sets) == 0 {
		t.Skip("no AVX2 or AVX-512 on this CPU: the Go loops are the only path")
	}
	for _, set := range sets {
		t.Run(map[int]string{ewAVX512: "avx512", ewAVX2: "avx2"}[set], func(t *testing.T) { check(t, set) })
	}
}

// The AVX-512 and AVX2 element-wise kernels give the bits of the Go loops, on every
// length up to 70 (whole vectors, masked tails on AVX-512, Go tails on AVX2) and on
// special values (±0, ±Inf, NaN, subnormals).
func TestElementwiseKernelsSameBits(t *testing.T) { forEachElementwiseSet(t, testElementwiseSameBits) }

func testElementwiseSameBits(t *testing.T, set int) {
	rng := rand.New(rand.NewPCG(7, 1))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-40, -1e-40, 3}
	gen := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			if rng.IntN(4) == 0 {
				v[i] = special[rng.IntN(len(special))]
			} else {
				v[i] = float32(rng.NormFloat64())
			}
		}
		return v
	}
	same := func(what string, n int, a, b []float32) {
		t.Helper()
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s, length %d: element %d is %v (SIMD) against %v (Go)", what, n, i, a[i], b[i])
			}
		}
	}
	run := func(set int, f func()) {
		prev := elementwiseSIMD
		elementwiseSIMD = set
		defer func() { elementwiseSIMD = prev }()
		f()
	}
	for n := 0; n <= 70; n++ {
		x, g, y := gen(n+3), gen(n+3), gen(n)
		relu := gen(n)
		ReLU(x, relu) // a ReLU output for the mask
		k, c, m, c0 := float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())
		v0 := gen(n)
		for i := range v0 {
			v0[i] = float32(math.Abs(float64(v0[i]))) // a second moment
		}
		coef := [8]float32{0.9, 0.1, 0.999, 0.001, 0.03, 1e-8, 1 - 1e-4, 1e-3 / 0.1}
		adam := func(out []float32, which int) { // AdamWUpdate on copies; out gets w, m or v
			w, m, v := append([]float32(nil), x[:n]...), append([]float32(nil), y...), append([]float32(nil), v0...)
			AdamWUpdate(w, g, m, v, coef)
			copy(out, [][]float32{w, m, v}[which])
		}
		for _, tc := range []struct {
			name string
			f    func(out []float32)
		}{
			{"ReLU", func(out []float32) { ReLU(x, out) }},
			{"ReLUMask", func(out []float32) { ReLUMask(out, g, relu) }},
			{"ReLUMask on arbitrary bits", func(out []float32) { ReLUMask(out, g, y) }},
			{"Affine", func(out []float32) { Affine(x, out, m, k, c) }},
			{"Affine2", func(out []float32) { Affine2(g, x, out, k, c, m, c0) }},
			{"Add", func(out []float32) { Add(g, x, out) }},
			{"AdamWUpdate (weights)", func(out []float32) { adam(out, 0) }},
			{"AdamWUpdate (first moment)", func(out []float32) { adam(out, 1) }},
			{"AdamWUpdate (second moment)", func(out []float32) { adam(out, 2) }},
		} {
			a, b := make([]float32, n), make([]float32, n)
			run(set, func() { tc.f(a) })
			run(ewGo, func() { tc.f(b) })
			same(tc.name, n, a, b)
		}
	}
}

// The float64 exp, GELU and GELU-derivative kernels give the bits of ExpNeg, Erf32 and
// the Go GELU loops on every length up to 40, across the clamps (|x| > 4 in Erf32,
// y < −700 in ExpNeg) and on ±0 and ±Inf; NaN stays NaN.
func TestExpErfKernelsSameBits(t *testing.T) { forEachElementwiseSet(t, testExpErfSameBits) }

func testExpErfSameBits(t *testing.T, set int) {
	rng := rand.New(rand.NewPCG(7, 2))
	special := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), -700, -700.0000001, 4, -4, 4.0000001, -745, 1e-300}
	for n := 0; n <= 40; n++ {
		x := make([]float64, n)
		for i := range x {
			switch rng.IntN(4) {
			case 0:
				x[i] = special[rng.IntN(len(special))]
			case 1:
				x[i] = -800 * rng.Float64() // the whole ExpNeg range
			default:
				x[i] = 6 * rng.NormFloat64()
			}
		}
		for _, k := range []struct {
			name string
			f    func([]float64)
			neg  bool // ExpNeg's domain is y ≤ 0
		}{{"ExpNegInPlace", ExpNegInPlace, true}, {"GELUInPlace", GELUInPlace, false}, {"GELUGradInPlace", GELUGradInPlace, false}} {
			in := append([]float64(nil), x...)
			if k.neg {
				for i := range in {
					in[i] = -math.Abs(in[i])
				}
			}
			a, b := append([]float64(nil), in...), append([]float64(nil), in...)
			prev := elementwiseSIMD
			elementwiseSIMD = set
			k.f(a)
			elementwiseSIMD = ewGo
			k.f(b)
			elementwiseSIMD = prev
			for i := range a {
				if math.IsNaN(a[i]) && math.IsNaN(b[i]) {
					continue
				}
				if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
					t.Fatalf("%s, length %d: element %d (input %v) is %v (SIMD) against %v (Go)", k.name, n, i, in[i], a[i], b[i])
				}
			}
		}
	}
}
