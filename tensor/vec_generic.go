//go:build !amd64 || purego || openblas

package tensor

func axpy32(a float32, x, y []float32) { axpyGo(a, x, y) }

func dot32(x, y []float32) float32 { return dotGo(x, y) }
