//go:build !amd64 || purego || openblas

package tensor

// winoSIMD is false: the portable loops of winograd_kernels.go run.
const winoSIMD = false

func winoGatherSIMD(dst, src *float32, idx *int32, rows, cols, rs, cs, n int) {
	panic("tensor: no SIMD Winograd kernels in this build")
}

func winoScatterSIMD(dst *float32, idx *int32, src *float32, rows, cols, rs, cs, n int) {
	panic("tensor: no SIMD Winograd kernels in this build")
}

func winoLinSIMD(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int) {
	panic("tensor: no SIMD Winograd kernels in this build")
}
