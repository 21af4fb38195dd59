//go:build openblas

// Optional OpenBLAS backend: `go build -tags openblas` (needs cgo) links the system
// OpenBLAS (Debian: libopenblas-dev, which provides cblas.h and libopenblas.so) and sends
// float32 GEMM to cblas_sgemm. The tag also drops the assembly kernels (gemm_amd64.go,
// gemm_amd64.s), because the go command refuses Go assembly in a package that uses cgo,
// and the pure-Go default (gemm_fast_generic.go). Without the tag this file is ignored.

package tensor

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

func init() {
	sgemmImpl = sgemmOpenBLAS
	sgemmSerialImpl = sgemmOpenBLAS
}

func sgemmOpenBLAS(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if k == 0 || alpha == 0 { // C = beta·C; beta = 0 clears C without reading it
		scaleC(m, n, beta, c, ldc)
		return
	}
	ta, tb := uint32(C.CblasNoTrans), uint32(C.CblasNoTrans)
	if transA {
		ta = uint32(C.CblasTrans)
	}
	if transB {
		tb = uint32(C.CblasTrans)
	}
	C.cblas_sgemm(C.CblasRowMajor, ta, tb, C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(&a[0]), C.blasint(lda), (*C.float)(&b[0]), C.blasint(ldb),
		C.float(beta), (*C.float)(&c[0]), C.blasint(ldc))
}
