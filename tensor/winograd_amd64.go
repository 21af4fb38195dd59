//go:build amd64 && !purego && !openblas

package tensor

// winoSIMD selects the AVX-512 kernels of winograd_amd64.s.
var winoSIMD = hasAVX512

// winoGatherAVX512 is winoGather on AVX-512 (VGATHERDPS, masked to n lanes).
//
//go:noescape
func winoGatherAVX512(dst, src *float32, idx *int32, rows, cols, rs, cs, n int)

// winoScatterAVX512 is winoScatter on AVX-512 (VSCATTERDPS, masked to n lanes).
//
//go:noescape
func winoScatterAVX512(dst *float32, idx *int32, src *float32, rows, cols, rs, cs, n int)

// winoLinAVX512 is winoLin on AVX-512: six accumulators, one broadcast multiply-add per
// matrix entry.
//
//go:noescape
func winoLinAVX512(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

func winoGatherSIMD(dst, src *float32, idx *int32, rows, cols, rs, cs, n int) {
	winoGatherAVX512(dst, src, idx, rows, cols, rs, cs, n)
}

func winoScatterSIMD(dst *float32, idx *int32, src *float32, rows, cols, rs, cs, n int) {
	winoScatterAVX512(dst, idx, src, rows, cols, rs, cs, n)
}

func winoLinSIMD(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int) {
	winoLinAVX512(lc, k, r, x, xk, xb, y, yr, yb, nb)
}
