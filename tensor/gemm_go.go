package tensor

// A blocked pure-Go GEMM: op(A) and op(B) are packed row-major when transposed, then C is
// updated four rows at a time so every loaded row of B feeds four multiply-adds. It is
// the portable kernel; gemmSerial runs it on the calling goroutine (for callers that
// already parallelise, e.g. convolution over samples), Sgemm splits rows over Workers.
// Sgemm uses it where no assembly kernel applies: gemm_fast_generic.go installs it on
// other architectures (or with -tags purego), gemm_amd64.go on CPUs without AVX2+FMA.

func sgemmGo(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m*n*k < 32*32*32 || Workers < 2 {
		gemmSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	ap, lda2 := packIfTrans(transA, m, k, a, lda)
	bp, ldb2 := packIfTrans(transB, k, n, b, ldb)
	Parallel((m+3)/4, 4, func(lo, hi int) {
		r0, r1 := lo*4, min(hi*4, m)
		gemmNN(r1-r0, n, k, alpha, ap[r0*lda2:], lda2, bp, ldb2, beta, c[r0*ldc:], ldc)
	})
}

// gemmSerial is Gemm on the calling goroutine.
func gemmSerial[F Float](transA, transB bool, m, n, k int, alpha F, a []F, lda int, b []F, ldb int, beta F, c []F, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	ap, lda2 := packIfTrans(transA, m, k, a, lda)
	bp, ldb2 := packIfTrans(transB, k, n, b, ldb)
	gemmNN(m, n, k, alpha, ap, lda2, bp, ldb2, beta, c, ldc)
}

// packIfTrans returns op(X) (rows × cols) as a row-major matrix with its stride.
func packIfTrans[F Float](trans bool, rows, cols int, x []F, ld int) ([]F, int) {
	if !trans {
		return x, ld
	}
	p := make([]F, rows*cols)
	for j := 0; j < cols; j++ { // x is cols × rows with stride ld
		src := x[j*ld : j*ld+rows]
		for i, v := range src {
			p[i*cols+j] = v
		}
	}
	return p, cols
}

// gemmNN computes C = alpha·A·B + beta·C for row-major A (m×k), B (k×n).
func gemmNN[F Float](m, n, k int, alpha F, a []F, lda int, b []F, ldb int, beta F, c []F, ldc int) {
	scaleC(m, n, beta, c, ldc)
	if k == 0 || alpha == 0 {
		return
	}
	i := 0
	for ; i+4 <= m; i += 4 {
		c0 := c[i*ldc : i*ldc+n]
		c1 := c[(i+1)*ldc : (i+1)*ldc+n]
		c2 := c[(i+2)*ldc : (i+2)*ldc+n]
		c3 := c[(i+3)*ldc : (i+3)*ldc+n]
		for p := 0; p < k; p++ {
			a0, a1, a2, a3 := alpha*a[i*lda+p], alpha*a[(i+1)*lda+p], alpha*a[(i+2)*lda+p], alpha*a[(i+3)*lda+p]
			br := b[p*ldb : p*ldb+n]
			br = br[:len(c0)]
			c1, c2, c3 := c1[:len(br)], c2[:len(br)], c3[:len(br)]
			for j, bv := range br {
				c0[j] += a0 * bv
				c1[j] += a1 * bv
				c2[j] += a2 * bv
				c3[j] += a3 * bv
			}
		}
	}
	for ; i < m; i++ {
		c0 := c[i*ldc : i*ldc+n]
		for p := 0; p < k; p++ {
			a0 := alpha * a[i*lda+p]
			br := b[p*ldb : p*ldb+n]
			br = br[:len(c0)]
			for j, bv := range br {
				c0[j] += a0 * bv
			}
		}
	}
}
