package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Every generated transform kernel (one per matrix of F(4×4) and F(2×2)) and both product
// kernels agree with the portable loops on random data and strides, within float32
// rounding (the kernels use fused multiply-adds and skip zero entries).
func TestWinoTransformKernels(t *testing.T) {
	if !winoSIMD {
		t.Skip("no SIMD Winograd kernels in this build: the portable loops are the only path")
	}
	forEachWinoKernels(t, testWinoTransformKernels)
}

func testWinoTransformKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 6))
	for _, ms := range []*winoMats{winoF4, winoF2} {
		for name, mt := range map[string]*winoMat{"Bt": ms.bt, "At": ms.at, "A": ms.aa, "G": ms.gm, "Gt": ms.gt} {
			const xk, xb, yr, yb, nb = 21, 7 * 16, 19, 6 * 19, 5
			x := randSlice32(rng, (nb-1)*xb+(mt.k-1)*xk+16)
			got, want := make([]float32, (nb-1)*yb+(mt.r-1)*yr+16), make([]float32, (nb-1)*yb+(mt.r-1)*yr+16)
			winoLin(mt, x, xk, xb, got, yr, yb, nb)
			portable := *mt
			portable.simd = nil
			winoLin(&portable, x, xk, xb, want, yr, yb, nb)
			checkRel(t, fmt.Sprintf("F(%d) %s", ms.m, name), got, want)
		}
	}
	// Every row count of a partial tile: the rows asked for agree (the kernels may set more).
	for _, beta := range []float32{0, 1, 0.5} {
		for rows := 1; rows <= winoTileRows; rows++ {
			const k, lda, ldc = 36, 41, 37
			a, b := randSlice32(rng, 13*lda+k), randSlice32(rng, k*32)
			c0 := randSlice32(rng, 13*ldc+32)
			n := (rows-1)*ldc + 32
			got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
			winoKernelRows(k, a, lda, b, got, ldc, beta, rows)
			winoKernelRowsGo(k, a, lda, b, want, ldc, beta, rows)
			checkRel(t, fmt.Sprintf("rows kernel beta %g, %d rows", beta, rows), got[:n], want[:n])
			const as, bs = 17, 35
			a2, b2 := randSlice32(rng, (k-1)*as+14), randSlice32(rng, (k-1)*bs+32)
			got, want = append([]float32(nil), c0...), append([]float32(nil), c0...)
			winoKernelStrided(k, a2, as, b2, bs, got, ldc, beta, rows)
			winoKernelStridedGo(k, a2, as, b2, bs, want, ldc, beta, rows)
			checkRel(t, fmt.Sprintf("strided kernel beta %g, %d rows", beta, rows), got[:n], want[:n])
		}
	}
}

// The strip transposes (16×16 on AVX-512, 8×8 on AVX2) agree exactly with the definition
// for every row and lane count up to 16, with odd strides, and q counts with tails the
// loops do (37, 13) and whole 8-groups that are not 16-groups (8, 24).
func TestWinoTransposeStrip(t *testing.T) {
	forEachWinoKernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 7))
		const ld = 53
		src := randSlice32(rng, 16*ld)
		for _, kb := range []int{37, 13, 8, 24} {
			for lanes := 1; lanes <= 16; lanes++ {
				for rows := 1; rows <= lanes; rows++ {
					stride := lanes + rng.IntN(5)
					got := randSlice32(rng, (kb-1)*stride+lanes)
					want := append([]float32(nil), got...)
					transposeStrip(got, stride, src, ld, kb, rows, lanes)
					for q := 0; q < kb; q++ {
						for r := 0; r < lanes; r++ {
							want[q*stride+r] = 0
							if r < rows {
								want[q*stride+r] = src[r*ld+q]
							}
						}
					}
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("kb %d lanes %d rows %d stride %d: element %d is %g, want %g", kb, lanes, rows, stride, i, got[i], want[i])
						}
					}
				}
			}
		}
	})
}
