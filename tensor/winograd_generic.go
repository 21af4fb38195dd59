//go:build !amd64 || purego || openblas

package tensor

// winoSIMD is false: the portable loops of winograd_kernels.go and winograd.go run.
const winoSIMD = false

func winoTransposeStep() int { return 16 }

func winoTransposeSIMD(dst, src *float32, ld, kb, rows, stride, lanes int) {
	panic("tensor: no SIMD Winograd kernels in this build")
}

func winoKernelRows(k int, a []float32, lda int, b, c []float32, ldc int, beta float32, rows int) {
	winoKernelRowsGo(k, a, lda, b, c, ldc, beta, rows)
}

func winoKernelStrided(k int, a []float32, as int, b []float32, bs int, c []float32, ldc int, beta float32, rows int) {
	winoKernelStridedGo(k, a, as, b, bs, c, ldc, beta, rows)
}

// winoKernelSets is empty: there are no SIMD kernel sets in this build.
func winoKernelSets() []bool { return nil }

func useWinoKernels(bool) {}
