//go:build amd64 && !purego && !openblas

package tensor

import (
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
			sgemmPacked(kr, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
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
