//go:build amd64 && !purego && !openblas

package tensor

// The narrow path: C = op(A)·B with 16 columns, as in the attention products of a head of
// width 16 (O = P·V and the gradients dV = Pᵀ·dO, dQ = dS·K, dK = dSᵀ·Q). The packed
// driver spends most of such a call on packing A and on a 14×32 tile half of which is
// padding, then merges that tile into C through a scratch buffer. The narrow kernels
// (gemm_amd64_gen.go) read A and B where they lie, keep up to 14 rows of 16 columns in
// ZMM registers and store them straight into C, with the packed kernel's order of
// multiply-adds, so the results have its bits (TestNarrow16SameBits).

// narrowKernel computes rows×16 of C: c[r·ldc+j] = Σ_p a[r·sr+p·sp]·b[p·ldb+j], k ≥ 1.
type narrowKernel func(k int, a *float32, sr, sp int, b *float32, ldb int, c *float32, ldc int)

// narrow16Kernels[r] is the kernel for r rows.
var narrow16Kernels = [...]narrowKernel{nil,
	sgemmNarrow16R1AVX512, sgemmNarrow16R2AVX512, sgemmNarrow16R3AVX512, sgemmNarrow16R4AVX512,
	sgemmNarrow16R5AVX512, sgemmNarrow16R6AVX512, sgemmNarrow16R7AVX512, sgemmNarrow16R8AVX512,
	sgemmNarrow16R9AVX512, sgemmNarrow16R10AVX512, sgemmNarrow16R11AVX512, sgemmNarrow16R12AVX512,
	sgemmNarrow16R13AVX512, sgemmNarrow16R14AVX512,
}

// narrowFits reports whether the narrow kernels compute this product with the bits of
// the packed AVX-512 driver: 16 columns, B not transposed, alpha 1 (the packed A is then
// A itself), beta 0, and k within one k slice of the packed driver (a second slice would
// add its partial sums into C, a different order).
func narrowFits(kr *microKernel, transB bool, n, k int, alpha, beta float32) bool {
	return kr == kernelAVX512 && n == 16 && !transB && alpha == 1 && beta == 0 && k >= 1 && k <= kr.kc
}

// sgemmNarrow16 computes C = op(A)·B for an m×16 C on the calling goroutine, in
// balanced chunks of at most 14 rows (65 rows: five of 13). Sizes must be validated.
func sgemmNarrow16(transA bool, m, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	sr, sp := lda, 1
	if transA {
		sr, sp = 1, lda
	}
	chunks := (m + narrowRows - 1) / narrowRows
	for i0, q := 0, 0; q < chunks; q++ {
		rows := (m - i0) / (chunks - q)
		narrow16Kernels[rows](k, &a[i0*sr], sr, sp, &b[0], ldb, &c[i0*ldc], ldc)
		i0 += rows
	}
}

// narrowRows is the most rows a narrow kernel holds (14 accumulators; the generator's
// constant of the same name).
const narrowRows = 14

//go:noescape
func sgemmNarrow16R1AVX512(k int, a *float32, sr, sp int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func sgemmNarrow16R2AVX512(k int, a *float32, sr, sp int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func sgemmNarrow16R3AVX512(k int, a *float32, sr, sp int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func sgemmNarrow16R4AVX512(k int, a *float32, sr, sp int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func sgemmNarrow16R5AVX512(k int, a *float32, sr, sp int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func sgemmNarrow16R6AVX512(k int, a *float32, sr, sp int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func sgemmNarrow16R7AVX512(k int, a *float32, sr, sp int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func sgemmNarrow16R8AVX512(k int, a *float32, sr, sp int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func sgemmNarrow16R9AVX512(k int, a *float32, sr, sp int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func sgemmNarrow16R10AVX512(k int, a *float32, sr, sp int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func sgemmNarrow16R11AVX512(k int, a *float32, sr, sp int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func sgemmNarrow16R12AVX512(k int, a *float32, sr, sp int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func sgemmNarrow16R13AVX512(k int, a *float32, sr, sp int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func sgemmNarrow16R14AVX512(k int, a *float32, sr, sp int, b *float32, ldb int, c *float32, ldc int)
