//go:build amd64 && !purego && !openblas

package tensor

//go:generate go run winograd_amd64_gen.go

import "unsafe"

// winoSIMD selects the generated kernels of winograd_amd64.s: the transform and product
// kernels and the register transposes. There are two sets, AVX-512 (16-lane vectors,
// 14×32 product tiles, the 16×16 transposes of the SGEMM packing) and AVX2+FMA (each
// 16-lane vector as two 8-lane halves, each 14×32 tile as six 5×16 and 4×16 parts, 8×8
// transposes); winoAVX512 says which one runs. Both give the portable loops' results
// within float32 rounding (fused multiply-adds), and the same bits as each other for the
// transforms.
var (
	winoSIMD   = hasAVX512 || hasAVX2FMA
	winoAVX512 = hasAVX512
)

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

// The AVX2 versions (winograd_amd64_gen.go).

//go:noescape
func winoLinBt4AVX2(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

//go:noescape
func winoLinAt4AVX2(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

//go:noescape
func winoLinAa4AVX2(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

//go:noescape
func winoLinBt2AVX2(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

//go:noescape
func winoLinAt2AVX2(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

//go:noescape
func winoLinAa2AVX2(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

//go:noescape
func winoLinG4AVX2(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

//go:noescape
func winoLinGt4AVX2(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

//go:noescape
func winoLinG2AVX2(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

//go:noescape
func winoLinGt2AVX2(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)

// winoKernelRows5AVX2 and winoKernelRows4AVX2 set or update an R×16 part of a product
// tile (R = 5, 4): c[r·ldc+j] = Σ_p a[r·lda+p]·b[p·32+j] (+ beta·c), k a multiple of 4.
//
//go:noescape
func winoKernelRows5AVX2(k int, a *float32, lda int, b, c *float32, ldc int, beta float32)

//go:noescape
func winoKernelRows4AVX2(k int, a *float32, lda int, b, c *float32, ldc int, beta float32)

// winoKernelStrided5AVX2 and winoKernelStrided4AVX2 set or update an R×16 part:
// c[r·ldc+j] = Σ_p a[p·as+r]·b[p·bs+j] (+ beta·c).
//
//go:noescape
func winoKernelStrided5AVX2(k int, a *float32, as int, b *float32, bs int, c *float32, ldc int, beta float32)

//go:noescape
func winoKernelStrided4AVX2(k int, a *float32, as int, b *float32, bs int, c *float32, ldc int, beta float32)

func init() { useWinoKernels(winoAVX512) }

// useWinoKernels installs the AVX-512 (avx512) or the AVX2 transform kernels.
func useWinoKernels(avx512 bool) {
	winoAVX512 = avx512
	if avx512 {
		winoF4.bt.simd, winoF4.at.simd, winoF4.aa.simd = winoLinBt4AVX512, winoLinAt4AVX512, winoLinAa4AVX512
		winoF4.gm.simd, winoF4.gt.simd = winoLinG4AVX512, winoLinGt4AVX512
		winoF2.bt.simd, winoF2.at.simd, winoF2.aa.simd = winoLinBt2AVX512, winoLinAt2AVX512, winoLinAa2AVX512
		winoF2.gm.simd, winoF2.gt.simd = winoLinG2AVX512, winoLinGt2AVX512
		return
	}
	winoF4.bt.simd, winoF4.at.simd, winoF4.aa.simd = winoLinBt4AVX2, winoLinAt4AVX2, winoLinAa4AVX2
	winoF4.gm.simd, winoF4.gt.simd = winoLinG4AVX2, winoLinGt4AVX2
	winoF2.bt.simd, winoF2.at.simd, winoF2.aa.simd = winoLinBt2AVX2, winoLinAt2AVX2, winoLinAa2AVX2
	winoF2.gm.simd, winoF2.gt.simd = winoLinG2AVX2, winoLinGt2AVX2
}

// winoKernelSets lists the kernel sets this CPU runs (true for AVX-512), for the tests.
func winoKernelSets() []bool {
	var s []bool
	if hasAVX512 {
		s = append(s, true)
	}
	if hasAVX2FMA {
		s = append(s, false)
	}
	return s
}

// winoTransposeStep is the number of q winoTransposeSIMD takes at a time.
func winoTransposeStep() int {
	if winoAVX512 {
		return 16
	}
	return 8
}

// winoTransposeSIMD sets dst[q·stride+r] = src[r·ld+q] for q < kb (a multiple of
// winoTransposeStep), r < rows (at least 1), and 0 for rows ≤ r < lanes ≤ 16.
func winoTransposeSIMD(dst, src *float32, ld, kb, rows, stride, lanes int) {
	if winoAVX512 {
		sgemmPackTrans16AVX512(dst, src, ld, kb, rows, stride, lanes, 1)
		return
	}
	full := lanes &^ 7
	for r0 := 0; r0 < full; r0 += 8 {
		rr := min(max(rows-r0, 0), 8)
		s := src
		if rr > 0 {
			s = (*float32)(unsafe.Add(unsafe.Pointer(src), 4*r0*ld))
		}
		transpose8AVX2((*float32)(unsafe.Add(unsafe.Pointer(dst), 4*r0)), s, ld, kb, rr, stride)
	}
	if full < lanes { // a last group of fewer than 8 lanes (channel counts not multiples of 8)
		ds := unsafe.Slice(dst, (kb-1)*stride+lanes)
		ss := unsafe.Slice(src, (rows-1)*ld+kb)
		transposeLoop(ds, stride, ss, ld, 0, kb, full, lanes, rows)
	}
}

// winoParts are the row parts of a 14×32 product tile in the AVX2 kernels.
var winoParts = [3]struct{ r0, n int }{{0, 5}, {5, 5}, {10, 4}}

// winoPartsFor returns how many of winoParts cover the first rows rows of a tile.
func winoPartsFor(rows int) int {
	switch {
	case rows <= 5:
		return 1
	case rows <= 10:
		return 2
	}
	return 3
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

func winoKernelRows(k int, a []float32, lda int, b, c []float32, ldc int, beta float32, rows int) {
	if winoSIMD {
		_ = a[13*lda+k-1]
		_ = b[k*32-1]
		_ = c[13*ldc+31]
		if winoAVX512 {
			winoKernelRowsAVX512(k, &a[0], lda, &b[0], &c[0], ldc, beta)
			return
		}
		for _, pt := range winoParts[:winoPartsFor(rows)] {
			for j := 0; j < 32; j += 16 {
				ap, bp, cp := &a[pt.r0*lda], &b[j], &c[pt.r0*ldc+j]
				if pt.n == 5 {
					winoKernelRows5AVX2(k, ap, lda, bp, cp, ldc, beta)
				} else {
					winoKernelRows4AVX2(k, ap, lda, bp, cp, ldc, beta)
				}
			}
		}
		return
	}
	winoKernelRowsGo(k, a, lda, b, c, ldc, beta, rows)
}

func winoKernelStrided(k int, a []float32, as int, b []float32, bs int, c []float32, ldc int, beta float32, rows int) {
	if winoSIMD && k > 0 {
		_ = a[(k-1)*as+13]
		_ = b[(k-1)*bs+31]
		_ = c[13*ldc+31]
		if winoAVX512 {
			winoKernelStridedAVX512(k, &a[0], as, &b[0], bs, &c[0], ldc, beta)
			return
		}
		for _, pt := range winoParts[:winoPartsFor(rows)] {
			for j := 0; j < 32; j += 16 {
				ap, bp, cp := &a[pt.r0], &b[j], &c[pt.r0*ldc+j]
				if pt.n == 5 {
					winoKernelStrided5AVX2(k, ap, as, bp, bs, cp, ldc, beta)
				} else {
					winoKernelStrided4AVX2(k, ap, as, bp, bs, cp, ldc, beta)
				}
			}
		}
		return
	}
	winoKernelStridedGo(k, a, as, b, bs, c, ldc, beta, rows)
}
