//go:build amd64 && !purego && !openblas

package tensor

import "golang.org/x/sys/cpu"

// y[i] += a·x[i] and Σ x[i]·y[i] over len(y), AVX2+FMA (vec_amd64.s).
//
//go:noescape
func axpyAVX2(a float32, x, y []float32)

//go:noescape
func dotAVX2(x, y []float32) float32

var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func axpy32(a float32, x, y []float32) {
	if hasAVX2FMA {
		_ = x[len(y)-1]
		axpyAVX2(a, x, y)
		return
	}
	axpyGo(a, x, y)
}

func dot32(x, y []float32) float32 {
	if hasAVX2FMA {
		_ = x[len(y)-1]
		return dotAVX2(x, y)
	}
	return dotGo(x, y)
}
