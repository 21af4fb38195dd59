package reverse

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// smallCase is one layer and input size for the small-map kernels.
type smallCase struct {
	cin, cout, kh, kw, stride, pad, h, w int
}

func (sc smallCase) String() string {
	return fmt.Sprintf("cin%d_cout%d_k%dx%d_s%d_p%d_%dx%d", sc.cin, sc.cout, sc.kh, sc.kw, sc.stride, sc.pad, sc.h, sc.w)
}

// smallCases returns fixed cases (the bench layers, 5×5 and 3×3 with stride 2 and
// padding 1, widths that leave a tail after the blocks of four) and random ones.
func smallCases(rng *rand.Rand) []smallCase {
	cases := []smallCase{
		{2, 4, 5, 5, 1, 0, 16, 16}, {2, 1, 5, 5, 1, 0, 16, 16}, {2, 4, 5, 5, 1, 0, 19, 23},
		{3, 2, 5, 5, 1, 1, 9, 11}, {3, 2, 3, 3, 2, 1, 10, 10}, {2, 3, 5, 5, 2, 1, 13, 12},
		{4, 8, 3, 3, 2, 1, 8, 8}, {1, 1, 1, 1, 1, 0, 3, 5}, {2, 2, 5, 5, 1, 2, 5, 5},
		{2, 3, 3, 5, 1, 1, 7, 9}, {1, 2, 5, 3, 3, 2, 11, 8},
		{2, 4, 5, 5, 1, 0, 64, 64}, {1, 2, 5, 5, 1, 0, 8, 12}, {1, 2, 5, 5, 1, 0, 8, 13}, {3, 1, 5, 5, 1, 2, 6, 27},
	}
	ks := []int{1, 2, 3, 4, 5, 7}
	for len(cases) < 60 {
		sc := smallCase{cin: 1 + rng.IntN(4), cout: 1 + rng.IntN(5), kh: ks[rng.IntN(len(ks))], kw: ks[rng.IntN(len(ks))],
			stride: 1 + rng.IntN(3), pad: rng.IntN(3), h: 1 + rng.IntN(20), w: 1 + rng.IntN(20)}
		if sc.h+2*sc.pad < sc.kh || sc.w+2*sc.pad < sc.kw {
			continue
		}
		cases = append(cases, sc)
	}
	return cases
}

// The small-map conv and adjoint equal tensor.Conv2dForward/Conv2dBackward (through
// Conv2D.Forward and Conv2D.Adjoint) within 1e-12 relative, and satisfy
// ⟨Ax, y⟩ = ⟨x, Aᵀy⟩, for random shapes with strides 1–3 and paddings 0–2, with the
// scalar loops and with the vector kernel for 5-wide kernels (where the CPU has it).
func TestSmallConvMatchesTensor(t *testing.T) {
	defer func(v bool) { hasCorr5 = v }(hasCorr5)
	for _, vec := range []bool{false, true} {
		if vec && !hasCorr5 {
			t.Log("no AVX2/FMA: the vector kernel is not tested")
			continue
		}
		hasCorr5 = vec
		t.Run(map[bool]string{false: "scalar", true: "vector"}[vec], testSmallConvMatchesTensor)
	}
}

func testSmallConvMatchesTensor(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 4))
	for _, sc := range smallCases(rng) {
		t.Run(sc.String(), func(t *testing.T) {
			c := &Conv2D{Weight: randSlice(rng, sc.cout*sc.cin*sc.kh*sc.kw, 1), Cout: sc.cout, Cin: sc.cin,
				KH: sc.kh, KW: sc.kw, Stride: sc.stride, Pad: sc.pad}
			k := newSmallConv(c.Weight, sc.cout, sc.cin, sc.kh, sc.kw, sc.stride, sc.pad, sc.h, sc.w)
			ho, wo := c.OutSize(sc.h, sc.w)
			if k.ho != ho || k.wo != wo {
				t.Fatalf("output %d×%d, tensor %d×%d", k.ho, k.wo, ho, wo)
			}
			wk := k.work()
			defer k.release(wk)
			for rep := 0; rep < 2; rep++ { // the second round reuses dirty scratch
				x := randSlice(rng, sc.cin*sc.h*sc.w, 1)
				g := randSlice(rng, sc.cout*ho*wo, 1)
				y := randSlice(rng, len(g), 1) // overwritten
				k.fwd(x, y, wk)
				if e := smallRelErr(y, c.Forward(x, 1, sc.h, sc.w)); e > 1e-12 {
					t.Fatalf("forward differs from tensor by %.3g", e)
				}
				xa := randSlice(rng, len(x), 1) // overwritten
				k.adj(g, xa, wk)
				if e := smallRelErr(xa, c.Adjoint(g, 1, sc.h, sc.w)); e > 1e-12 {
					t.Fatalf("adjoint differs from tensor by %.3g", e)
				}
				lhs, rhs := cgDot(y, g), cgDot(x, xa)
				if math.Abs(lhs-rhs) > 1e-12*norm2(y)*norm2(g) {
					t.Fatalf("⟨Ax, g⟩ = %.17g, ⟨x, Aᵀg⟩ = %.17g", lhs, rhs)
				}
			}
		})
	}
}

// smallRelErr is ‖a − b‖/max(‖b‖, tiny).
func smallRelErr(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(d) / max(norm2(b), 1e-300)
}

// The kernels allocate nothing once the scratch exists.
func TestSmallConvNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 4))
	for _, sc := range []smallCase{{2, 4, 5, 5, 1, 0, 16, 16}, {3, 2, 3, 3, 2, 1, 10, 10}, {2, 3, 5, 5, 1, 1, 9, 9}} {
		k := newSmallConv(randSlice(rng, sc.cout*sc.cin*sc.kh*sc.kw, 1), sc.cout, sc.cin, sc.kh, sc.kw, sc.stride, sc.pad, sc.h, sc.w)
		x := randSlice(rng, sc.cin*sc.h*sc.w, 1)
		y := make([]float64, sc.cout*k.ho*k.wo)
		wk := k.work()
		if n := testing.AllocsPerRun(20, func() { k.fwd(x, y, wk); k.adj(y, x, wk) }); n != 0 {
			t.Fatalf("%v: %v allocations per forward and adjoint", sc, n)
		}
		k.release(wk)
	}
}

// corr5 gives the scalar corrRow's outputs within rounding, for every row length up to
// 40 (blocks of eight, a block of four, the scalar tail) and 1–12 row pairs.
func TestCorr5MatchesScalar(t *testing.T) {
	if !hasCorr5 {
		t.Skip("no AVX2/FMA")
	}
	defer func(v bool) { hasCorr5 = v }(hasCorr5)
	rng := rand.New(rand.NewPCG(23, 4))
	for n := 0; n <= 40; n++ {
		for _, pairs := range []int{1, 2, 5, 12} {
			const stride = 50
			src := randSlice(rng, pairs*stride+n+4, 1)
			offs := make([]int, pairs)
			for p := range offs {
				offs[p] = (pairs-1-p)*stride - 3 // base 3 brings the first read to 0
			}
			wts := randSlice(rng, 5*pairs, 1)
			got, want := make([]float64, n), make([]float64, n)
			hasCorr5 = true
			corrRow(got, src, 3, offs, wts, 5)
			hasCorr5 = false
			corrRow(want, src, 3, offs, wts, 5)
			for j := range want {
				if math.Abs(got[j]-want[j]) > 1e-13*(1+math.Abs(want[j])) {
					t.Fatalf("n %d, %d pairs: out[%d] = %.17g, scalar %.17g", n, pairs, j, got[j], want[j])
				}
			}
		}
	}
}
