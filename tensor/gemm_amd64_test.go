//go:build amd64 && !purego && !openblas

package tensor

import (
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// sgemmPaths: the active Sgemm, the pure-Go sgemmGo, and the packed driver with every
// micro-kernel this CPU runs (AVX-512, AVX2, and the Go tile kernel).
func sgemmPaths() []sgemmPath {
	ps := []sgemmPath{{"active", Sgemm}, {"go", sgemmGo}}
	for _, kr := range availableKernels() {
		ps = append(ps, sgemmPath{"packed-" + kr.name, func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			sgemmPacked(kr, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil)
		}})
	}
	return ps
}

// The fastest kernel the CPU supports is the active one.
func TestSgemmDispatch(t *testing.T) {
	want := (*microKernel)(nil)
	switch {
	case cpu.X86.HasAVX512F:
		want = kernelAVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		want = kernelAVX2
	}
	if activeKernel != want {
		t.Fatalf("active kernel %v, want %v", activeKernel, want)
	}
	if want == nil {
		t.Skip("no AVX2+FMA: the pure-Go SGEMM is active")
	}
	t.Logf("active SGEMM micro-kernel: %s (%d×%d)", want.name, want.mr, want.nr)
	for _, kr := range availableKernels() {
		if kr.mc%kr.mr != 0 || kr.nc%kr.nr != 0 {
			t.Errorf("%s: blocking mc=%d nc=%d not multiples of the %d×%d tile", kr.name, kr.mc, kr.nc, kr.mr, kr.nr)
		}
	}
}

// Steady-state calls reuse pooled pack buffers.
func TestSgemmFastNoAllocs(t *testing.T) {
	if activeKernel == nil {
		t.Skip("no assembly kernel")
	}
	old := Workers
	Workers = 1
	defer func() { Workers = old }()
	n := 100
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
	if allocs := testing.AllocsPerRun(20, func() { Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n) }); allocs > 0 {
		t.Fatalf("%v allocations per serial Sgemm", allocs)
	}
}

// The parallel drivers with an odd number of goroutines and a shared op(B) block far
// smaller than B (several column blocks), for every kernel.
func TestSgemmSharedBlocks(t *testing.T) {
	oldW, oldS := Workers, sharedPackFloats
	Workers, sharedPackFloats = 3, 4096
	defer func() { Workers, sharedPackFloats = oldW, oldS }()
	paths := sgemmPaths()
	rng := rand.New(rand.NewPCG(17, 18))
	for _, s := range [][3]int{{250, 130, 90}, {97, 301, 33}, {20, 700, 60}, {300, 40, 300}} {
		allTrans(func(ta, tb bool) {
			for _, beta := range []float32{0, 0.5} {
				checkGemmCase(t, rng, gemmCase{m: s[0], n: s[1], k: s[2], transA: ta, transB: tb, alpha: -1, beta: beta,
					padA: 2, padB: 3, padC: 1}, paths)
			}
		})
	}
}

// The narrow kernels give the packed AVX-512 driver's bits for every row count and chunk
// split (1 … 70 rows), both layouts of A, padded strides, k from 1 to one full k slice,
// signed zeros and a NaN-filled C (beta 0 must not read it); and narrowFits accepts only
// 16 columns, B not transposed, alpha 1, beta 0, k within one k slice and the AVX-512 kernel.
func TestNarrow16SameBits(t *testing.T) {
	if !cpu.X86.HasAVX512F {
		t.Skip("no AVX-512F: the narrow kernels are not used on this CPU")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			switch rng.IntN(8) {
			case 0:
				v[i] = float32(math.Copysign(0, -1))
			case 1:
				v[i] = 0
			default:
				v[i] = float32(rng.NormFloat64())
			}
		}
		return v
	}
	for _, m := range []int{1, 2, 7, 8, 13, 14, 15, 27, 29, 42, 65, 70} {
		for _, k := range []int{1, 3, 16, 65, 256} {
			for _, transA := range []bool{false, true} {
				lda, ldb, ldc := k+3, 16+5, 16+2
				if transA {
					lda = m + 1
				}
				rowsA := m
				if transA {
					rowsA = k
				}
				a, b := fill(rowsA*lda), fill(k*ldb)
				want, got := make([]float32, m*ldc), make([]float32, m*ldc)
				for i := range got {
					want[i], got[i] = float32(math.NaN()), float32(math.NaN())
				}
				sgemmPacked(kernelAVX512, transA, false, m, 16, k, 1, a, lda, b, ldb, 0, want, ldc, nil)
				sgemmNarrow16(transA, m, k, a, lda, b, ldb, got, ldc)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("m=%d k=%d transA=%v: c[%d] = %v (%#x), packed driver %v (%#x)", m, k, transA, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
					}
				}
			}
		}
	}
	for _, c := range []struct {
		transB      bool
		n, k        int
		alpha, beta float32
		want        bool
	}{
		{false, 16, 65, 1, 0, true}, {true, 16, 65, 1, 0, false}, {false, 17, 65, 1, 0, false},
		{false, 16, 65, 0.5, 0, false}, {false, 16, 65, 1, 1, false}, {false, 16, 257, 1, 0, false},
	} {
		if got := narrowFits(kernelAVX512, c.transB, c.n, c.k, c.alpha, c.beta); got != c.want {
			t.Errorf("narrowFits(%+v) = %v", c, got)
		}
	}
	if narrowFits(kernelAVX2, false, 16, 65, 1, 0) {
		t.Error("narrowFits accepts the AVX2 kernel")
	}
}
