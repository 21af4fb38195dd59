package tensor

import "fmt"

// The three vector building blocks of the Winograd convolution, on groups of 16 tiles
// (one float32 lane per tile): a gather of tile patches, a small linear map applied to
// many 16-lane vectors, and a scatter of output tiles. winoGatherSIMD & co. are the
// AVX-512 versions (winograd_amd64.s) when winoSIMD is set; the loops below are the
// portable ones, with the same arithmetic order (fused multiply-adds in p order).

// winoGather sets dst[(i·cols+j)·16+l] = src[idx[l]+i·rs+j·cs] for lanes l < n and 0
// for n ≤ l < 16.
func winoGather(dst, src []float32, idx *[16]int32, rows, cols, rs, cs, n int) {
	last := (rows-1)*rs + (cols-1)*cs
	for l := 0; l < n; l++ {
		if i := int(idx[l]); i < 0 || i+last >= len(src) {
			panic(fmt.Sprintf("tensor.winoGather: lane %d index %d+%d outside %d", l, i, last, len(src)))
		}
	}
	_ = dst[rows*cols*16-1]
	if winoSIMD {
		winoGatherSIMD(&dst[0], &src[0], &idx[0], rows, cols, rs, cs, n)
		return
	}
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			d := dst[(i*cols+j)*16 : (i*cols+j+1)*16]
			o := i*rs + j*cs
			for l := range d {
				if l < n {
					d[l] = src[int(idx[l])+o]
				} else {
					d[l] = 0
				}
			}
		}
	}
}

// winoScatter sets dst[idx[l]+i·rs+j·cs] = src[(i·cols+j)·16+l] for lanes l < n.
func winoScatter(dst []float32, idx *[16]int32, src []float32, rows, cols, rs, cs, n int) {
	last := (rows-1)*rs + (cols-1)*cs
	for l := 0; l < n; l++ {
		if i := int(idx[l]); i < 0 || i+last >= len(dst) {
			panic(fmt.Sprintf("tensor.winoScatter: lane %d index %d+%d outside %d", l, i, last, len(dst)))
		}
	}
	_ = src[rows*cols*16-1]
	if winoSIMD {
		winoScatterSIMD(&dst[0], &idx[0], &src[0], rows, cols, rs, cs, n)
		return
	}
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			s := src[(i*cols+j)*16 : (i*cols+j+1)*16]
			o := i*rs + j*cs
			for l := 0; l < n; l++ {
				dst[int(idx[l])+o] = s[l]
			}
		}
	}
}

// winoLin applies a small r×k matrix (lc, column-major with 6 rows: lc[p·6+q] is entry
// (q, p); r ≤ 6) to nb sets of k 16-lane vectors: for b < nb and q < r,
// y[b·yb+q·yr : +16] = Σ_p lc[p·6+q]·x[b·xb+p·xk : +16] (strides in floats).
func winoLin(lc []float32, k, r int, x []float32, xk, xb int, y []float32, yr, yb, nb int) {
	if nb == 0 {
		return
	}
	_ = lc[k*6-1]
	_ = x[(nb-1)*xb+(k-1)*xk+15]
	_ = y[(nb-1)*yb+(r-1)*yr+15]
	if winoSIMD {
		winoLinSIMD(&lc[0], k, r, &x[0], xk, xb, &y[0], yr, yb, nb)
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
