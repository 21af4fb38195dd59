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

// BenchmarkSgemmViTShapes times the products of one SimpleViT CIFAR block at batch 64
// (4160 tokens of width 192, MLP 384): the forward and input-gradient products of the
// linear layers, their weight gradients (Aᵀ·B over all tokens, where op(B) is megabytes
// long), and the attention products of one head (65 tokens, width 16), in GFLOP/s.
func BenchmarkSgemmViTShapes(b *testing.B) {
	for _, s := range []struct {
		name           string
		transA, transB bool
		m, n, k        int
	}{
		{"qkv-fwd", false, true, 4160, 576, 192},
		{"out-fwd", false, true, 4160, 192, 192},
		{"mlp1-fwd", false, true, 4160, 384, 192},
		{"mlp2-fwd", false, true, 4160, 192, 384},
		{"qkv-dx", false, false, 4160, 192, 576},
		{"mlp1-dx", false, false, 4160, 192, 384},
		{"qkv-dw", true, false, 576, 192, 4160},
		{"mlp1-dw", true, false, 384, 192, 4160},
		{"mlp2-dw", true, false, 192, 384, 4160},
		{"head-scores", false, true, 65, 65, 16},
		{"head-pv", false, false, 65, 16, 65},
		{"head-dv", true, false, 65, 16, 65},
	} {
		ar, ac := s.m, s.k
		if s.transA {
			ar, ac = ac, ar
		}
		br, bc := s.k, s.n
		if s.transB {
			br, bc = bc, br
		}
		rng := rand.New(rand.NewPCG(2, uint64(s.m)))
		x, y, c := make([]float32, ar*ac), make([]float32, br*bc), make([]float32, s.m*s.n)
		for i := range x {
			x[i] = rng.Float32()
		}
		for i := range y {
			y[i] = rng.Float32()
		}
		b.Run(s.name, func(b *testing.B) {
			for b.Loop() {
				Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, x, ac, y, bc, 0, c, s.n)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
