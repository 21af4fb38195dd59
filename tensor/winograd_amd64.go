//go:build amd64 && !purego && !openblas

package tensor

//go:generate go run winograd_amd64_gen.go

// winoSIMD selects the AVX-512 kernels: the transform and product kernels of
// winograd_amd64.s and the 16×16 register transposes of the SGEMM packing
// (sgemmPackTrans16AVX512).
var winoSIMD = hasAVX512

// The transform kernels, one per matrix (winograd_amd64_gen.go).
//
//go:noescape
func winoLinBt4AVX512(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

//go:noescape
func winoLinAt4AVX512(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

//go:noescape
func winoLinAa4AVX512(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

//go:noescape
func winoLinBt2AVX512(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

//go:noescape
func winoLinAt2AVX512(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

//go:noescape
func winoLinAa2AVX512(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

//go:noescape
func winoLinG4AVX512(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

//go:noescape
func winoLinGt4AVX512(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

//go:noescape
func winoLinG2AVX512(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

//go:noescape
func winoLinGt2AVX512(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

func init() {
	winoF4.bt.simd, winoF4.at.simd, winoF4.aa.simd = winoLinBt4AVX512, winoLinAt4AVX512, winoLinAa4AVX512
	winoF4.gm.simd, winoF4.gt.simd = winoLinG4AVX512, winoLinGt4AVX512
	winoF2.bt.simd, winoF2.at.simd, winoF2.aa.simd = winoLinBt2AVX512, winoLinAt2AVX512, winoLinAa2AVX512
	winoF2.gm.simd, winoF2.gt.simd = winoLinG2AVX512, winoLinGt2AVX512
}

// winoTransposeSIMD sets dst[q·stride+r] = src[r·ld+q] for q < kb (a multiple of 16),
// r < rows, and 0 for rows ≤ r < lanes ≤ 16.
func winoTransposeSIMD(dst, src *float32, ld, kb, rows, stride, lanes int) {
	sgemmPackTrans16AVX512(dst, src, ld, kb, rows, stride, lanes, 1)
}

// winoKernelRowsAVX512 sets or updates a 14×32 tile: c[r·ldc+j] = Σ_p a[r·lda+p]·b[p·32+j]
// (+ beta·c), k a multiple of 4 (wino_gemm_amd64.s).
//
//go:noescape
func winoKernelRowsAVX512(k int, a *float32, lda int, b, c *float32, ldc int, beta float32)

// winoKernelStridedAVX512 sets or updates a 14×32 tile: c[r·ldc+j] = Σ_p a[p·as+r]·b[p·bs+j]
// (+ beta·c) (wino_gemm_amd64.s).
//
//go:noescape
func winoKernelStridedAVX512(k int, a *float32, as int, b *float32, bs int, c *float32, ldc int, beta float32)

func winoKernelRows(k int, a []float32, lda int, b, c []float32, ldc int, beta float32) {
	if winoSIMD {
		_ = a[13*lda+k-1]
		_ = b[k*32-1]
		_ = c[13*ldc+31]
		winoKernelRowsAVX512(k, &a[0], lda, &b[0], &c[0], ldc, beta)
		return
	}
	winoKernelRowsGo(k, a, lda, b, c, ldc, beta)
}

func winoKernelStrided(k int, a []float32, as int, b []float32, bs int, c []float32, ldc int, beta float32) {
	if winoSIMD && k > 0 {
		_ = a[(k-1)*as+13]
		_ = b[(k-1)*bs+31]
		_ = c[13*ldc+31]
		winoKernelStridedAVX512(k, &a[0], as, &b[0], bs, &c[0], ldc, beta)
		return
	}
	winoKernelStridedGo(k, a, as, b, bs, c, ldc, beta)
}
