//go:build amd64 && !purego && !openblas

package tensor

// The reductions and conversions of vecreduce_amd64.s (vecreduce_amd64_gen.go), AVX-512
// only: without it the Go loops of vec.go run.

// addRows32 runs addRowsAVX512 (dst[j] += the rows of m, in order) and reports true, or
// reports false without AVX-512.
func addRows32(dst, m []float32, rows, ld int) bool {
	if !hasAVX512 {
		return false
	}
	if rows > 0 && len(dst) > 0 {
		_ = m[(rows-1)*ld+len(dst)-1]
		addRowsAVX512(dst, m, rows, ld)
	}
	return true
}

// narrow32 runs narrowAVX512 (g nil) or mulNarrowAVX512 on all of dst and returns
// len(dst), or returns 0 without AVX-512.
func narrow32(dst, g []float32, b []float64) int {
	if !hasAVX512 || len(dst) == 0 {
		return 0
	}
	_ = b[len(dst)-1]
	if g == nil {
		narrowAVX512(dst, b)
	} else {
		_ = g[len(dst)-1]
		mulNarrowAVX512(dst, g, b)
	}
	return len(dst)
}

// max32 returns the largest value of s (len(s) ≥ 1) with AVX-512 and reports true, or
// reports false without it.
func max32(s []float32) (float32, bool) {
	if !hasAVX512 {
		return 0, false
	}
	return maxAVX512(s), true
}

// addRowsAVX512 adds the rows of m into dst: see simd_amd64_gen.go.
//
//go:noescape
func addRowsAVX512(dst, m []float32, rows, ld int)

// maxAVX512 is the largest value of s, len(s) ≥ 1: see simd_amd64_gen.go.
//
//go:noescape
func maxAVX512(s []float32) float32

// narrowAVX512 sets dst[i] = float32(b[i]): see simd_amd64_gen.go.
//
//go:noescape
func narrowAVX512(dst []float32, b []float64)

// mulNarrowAVX512 sets dst[i] = g[i]·float32(b[i]): see simd_amd64_gen.go.
//
//go:noescape
func mulNarrowAVX512(dst, g []float32, b []float64)
