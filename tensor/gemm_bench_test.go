package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkSgemm times square C = A·B through the active kernel on all Workers and
// reports GFLOP/s (2n³ flops per call).
func BenchmarkSgemm(b *testing.B) {
	for _, n := range []int{256, 512, 1024} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) { benchSgemm(b, Sgemm, n) })
	}
}

// BenchmarkSgemmOneWorker is BenchmarkSgemm on one goroutine (per-core throughput).
func BenchmarkSgemmOneWorker(b *testing.B) {
	old := Workers
	Workers = 1
	defer func() { Workers = old }()
	for _, n := range []int{256, 512, 1024} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) { benchSgemm(b, Sgemm, n) })
	}
}

func benchSgemm(b *testing.B, fn func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, bm []float32, ldb int, beta float32, c []float32, ldc int), n int) {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	x, y, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range x {
		x[i], y[i] = rng.Float32(), rng.Float32()
	}
	fn(false, false, n, n, n, 1, x, n, y, n, 0, c, n) // warm the pack-buffer pools
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fn(false, false, n, n, n, 1, x, n, y, n, 0, c, n)
	}
	b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
