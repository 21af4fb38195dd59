package tensor

// The building blocks of the Winograd convolution: a small linear map applied to many
// 16-lane vectors (one lane per channel: the transforms), and two 14×32 tile products
// (the element-wise products over channels). The AVX-512 or AVX2 kernels generated for
// each matrix and the product kernels (winograd_amd64.s) run when winoSIMD is set; the
// loops below are the portable ones.

// winoLin applies the r×k matrix mt (mt.lc column-major with 6 rows: lc[p·6+q] is entry
// (q, p)) to nb sets of k 16-lane vectors: for b < nb and q < r,
// y[b·yb+q·yr : +16] = Σ_p lc[p·6+q]·x[b·xb+p·xk : +16] (strides in floats).
func winoLin(mt *winoMat, x []float32, xk, xb int, y []float32, yr, yb, nb int) {
	if nb == 0 {
		return
	}
	lc, k, r := mt.lc, mt.k, mt.r
	_ = x[(nb-1)*xb+(k-1)*xk+15]
	_ = y[(nb-1)*yb+(r-1)*yr+15]
	if winoSIMD && mt.simd != nil {
		mt.simd(&lc[0], k, r, &x[0], xk, xb, &y[0], yr, yb, nb)
		return
	}
	var acc [6][16]float32
	for b := 0; b < nb; b++ {
		acc = [6][16]float32{}
		for p := 0; p < k; p++ {
			xv := x[b*xb+p*xk : b*xb+p*xk+16]
			for q := 0; q < r; q++ {
				c := lc[p*6+q]
				a := &acc[q]
				for l, v := range xv {
					a[l] += c * v
				}
			}
		}
		for q := 0; q < r; q++ {
			copy(y[b*yb+q*yr:b*yb+q*yr+16], acc[q][:])
		}
	}
}

// winoTileRows is the tile shape of the product kernels.
const winoTileRows, winoTileCols = 14, 32

// winoKernelRowsGo sets c[r·ldc+j] = Σ_p a[r·lda+p]·b[p·32+j] + beta·c[r·ldc+j]
// (beta = 0: c is not read) for r < rows ≤ 14, j < 32.
//
// The product kernels take the number of rows the caller needs: a block's last tile of
// tiles (or of output channels) is often partial. They set at least those rows, and may
// set up to 14 (the AVX2 kernels skip the 5- and 4-row parts wholly past rows; the
// AVX-512 kernel does the whole tile).
func winoKernelRowsGo(k int, a []float32, lda int, b, c []float32, ldc int, beta float32, rows int) {
	for r := 0; r < rows; r++ {
		var acc [winoTileCols]float32
		for q := 0; q < k; q++ {
			av := a[r*lda+q]
			for j, bv := range b[q*winoTileCols : (q+1)*winoTileCols] {
				acc[j] += av * bv
			}
		}
		storeTileRow(acc[:], c[r*ldc:r*ldc+winoTileCols], beta)
	}
}

// winoKernelStridedGo sets c[r·ldc+j] = Σ_p a[p·as+r]·b[p·bs+j] + beta·c[r·ldc+j] for
// r < rows ≤ 14, j < 32.
func winoKernelStridedGo(k int, a []float32, as int, b []float32, bs int, c []float32, ldc int, beta float32, rows int) {
	for r := 0; r < rows; r++ {
		var acc [winoTileCols]float32
		for q := 0; q < k; q++ {
			av := a[q*as+r]
			for j, bv := range b[q*bs : q*bs+winoTileCols] {
				acc[j] += av * bv
			}
		}
		storeTileRow(acc[:], c[r*ldc:r*ldc+winoTileCols], beta)
	}
}

func storeTileRow(acc, c []float32, beta float32) {
	if beta == 0 {
		copy(c, acc)
		return
	}
	for j := range c {
		c[j] = acc[j] + beta*c[j]
	}
}
