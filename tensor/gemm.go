package tensor

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Gemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, where op(X) is X
// or its transpose. op(A) is m×k, op(B) is k×n, C is m×n; lda, ldb, ldc are row strides.
// float32 goes to the fastest SGEMM kernel available on this machine (see Sgemm);
// float64 goes to gonum's Dgemm.
func Gemm[F Float](transA, transB bool, m, n, k int, alpha F, a []F, lda int, b []F, ldb int, beta F, c []F, ldc int) {
	switch cc := any(c).(type) {
	case []float32:
		Sgemm(transA, transB, m, n, k, float32(alpha), any(a).([]float32), lda, any(b).([]float32), ldb, float32(beta), cc, ldc)
	case []float64:
		Dgemm(transA, transB, m, n, k, float64(alpha), any(a).([]float64), lda, any(b).([]float64), ldb, float64(beta), cc, ldc)
	default:
		panic(fmt.Sprintf("tensor.Gemm: unsupported element type %T", c))
	}
}

// GemmBias computes C = op(A)·op(B) + bias, with bias (n values) added to every row of
// C: the forward pass of a dense layer. The result has the bits of filling each row of C
// with bias and calling Gemm with alpha 1 and beta 1; with the AVX-512 kernel the bias
// is added to each tile of C as the kernel stores it, which saves writing C and reading
// it back.
func GemmBias[F Float](transA, transB bool, m, n, k int, a []F, lda int, b []F, ldb int, bias, c []F, ldc int) {
	if len(bias) != n {
		panic(fmt.Sprintf("tensor.GemmBias: %d bias values for %d columns", len(bias), n))
	}
	if c32, ok := any(c).([]float32); ok && sgemmBiasImpl != nil && m > 0 && k > 0 {
		a32, b32 := any(a).([]float32), any(b).([]float32)
		checkGemm(transA, transB, m, n, k, len(a32), lda, len(b32), ldb, len(c32), ldc)
		if n > 0 {
			sgemmBiasImpl(transA, transB, m, n, k, a32, lda, b32, ldb, any(bias).([]float32), c32, ldc)
		}
		return
	}
	if ldc == n {
		FillRows(c[:m*n], bias)
	} else {
		for r := 0; r < m; r++ {
			copy(c[r*ldc:r*ldc+n], bias)
		}
	}
	Gemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 1, c, ldc)
}

// sgemmBiasImpl is GemmBias's fused float32 path, nil where there is none (the init of
// gemm_amd64.go installs it with the AVX-512 kernel).
var sgemmBiasImpl func(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, bias, c []float32, ldc int)

// Sgemm is Gemm for float32 through the active SGEMM kernel.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemmChecked(sgemmImpl, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemmKernel is the signature of the float32 kernels behind sgemmImpl and sgemmSerialImpl.
type sgemmKernel func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// sgemmChecked validates the sizes and runs impl unless C is empty.
func sgemmChecked(impl sgemmKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	impl(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Dgemm is Gemm for float64 through gonum's native BLAS.
func Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	gonum.Implementation{}.Dgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemmImpl is the active float32 kernel; an init in gemm_amd64.go,
// gemm_fast_generic.go or gemm_openblas.go replaces the reference one.
var sgemmImpl sgemmKernel = SgemmRef

// sgemmSerialImpl is the active float32 kernel confined to the calling goroutine, for
// callers that already spread work over the cores (convolution runs one GEMM per sample
// group on each worker). The same inits replace it.
var sgemmSerialImpl sgemmKernel = gemmSerial[float32]

// gemmLocal is Gemm on the calling goroutine through the fastest kernel for F.
func gemmLocal[F Float](transA, transB bool, m, n, k int, alpha F, a []F, lda int, b []F, ldb int, beta F, c []F, ldc int) {
	if cc, ok := any(c).([]float32); ok {
		sgemmChecked(sgemmSerialImpl, transA, transB, m, n, k, float32(alpha), any(a).([]float32), lda, any(b).([]float32), ldb, float32(beta), cc, ldc)
		return
	}
	gemmSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// scaleC sets the m×n matrix C = beta·C (C = 0 when beta is 0, whatever C held, so NaNs
// in it do not leak): the whole product when k or alpha is 0, and the first step of the
// pure-Go kernel.
func scaleC[F Float](m, n int, beta F, c []F, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

func checkGemm(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	bad := m < 0 || n < 0 || k < 0 || lda < max(ac, 1) || ldb < max(bc, 1) || ldc < max(n, 1) ||
		(ar > 0 && ac > 0 && la < (ar-1)*lda+ac) || (br > 0 && bc > 0 && lb < (br-1)*ldb+bc) || (m > 0 && n > 0 && lc < (m-1)*ldc+n)
	if bad {
		panic(fmt.Sprintf("tensor.Gemm: bad sizes m=%d n=%d k=%d transA=%v transB=%v len(a)=%d lda=%d len(b)=%d ldb=%d len(c)=%d ldc=%d",
			m, n, k, transA, transB, la, lda, lb, ldb, lc, ldc))
	}
}

// SgemmRef is the plain triple-loop reference SGEMM (float64 accumulation) that fast
// kernels are tested against.
func SgemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			ci := &c[i*ldc+j]
			if beta == 0 {
				*ci = alpha * float32(s)
			} else {
				*ci = alpha*float32(s) + beta**ci
			}
		}
	}
}

// roundUp rounds x up to a multiple of m.
func roundUp(x, m int) int { return (x + m - 1) / m * m }
