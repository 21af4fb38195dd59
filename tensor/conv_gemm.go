package tensor

import "sync"

// validCols returns the output columns [lo, hi) whose input column ox·stride+kx−pad
// lies inside [0, w): outside them a column-matrix row reads (or adds) nothing.
func validCols(wo, stride, kx, pad, w int) (lo, hi int) {
	off := kx - pad
	lo = 0
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	hi = wo
	if last := (w - 1 - off); last < 0 {
		hi = 0
	} else if h := last/stride + 1; h < hi {
		hi = h
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// im2col writes the [Cin·KH·KW, Ho·Wo] column matrix of one sample. Each row segment is
// a bounds-free copy (stride 1) or gather (stride > 1) over the valid columns, with the
// padding columns cleared around it.
func im2col[F Float](s ConvShape, x, cols []F) {
	ho, wo := s.OutSize()
	for ci := 0; ci < s.Cin; ci++ {
		xp := x[ci*s.H*s.W : (ci+1)*s.H*s.W]
		for ky := 0; ky < s.KH; ky++ {
			for kx := 0; kx < s.KW; kx++ {
				row := cols[((ci*s.KH+ky)*s.KW+kx)*ho*wo : ((ci*s.KH+ky)*s.KW+kx+1)*ho*wo]
				lo, hi := validCols(wo, s.Stride, kx, s.Pad, s.W)
				off := kx - s.Pad
				for oy := 0; oy < ho; oy++ {
					iy := oy*s.Stride + ky - s.Pad
					r := row[oy*wo : (oy+1)*wo]
					if iy < 0 || iy >= s.H || lo == hi {
						clear(r)
						continue
					}
					clear(r[:lo])
					clear(r[hi:])
					src := xp[iy*s.W:]
					if s.Stride == 1 {
						copy(r[lo:hi], src[lo+off:hi+off])
						continue
					}
					for ox := lo; ox < hi; ox++ {
						r[ox] = src[ox*s.Stride+off]
					}
				}
			}
		}
	}
}

// col2im adds the column matrix back into the (zeroed) input gradient of one sample.
func col2im[F Float](s ConvShape, cols, dx []F) {
	ho, wo := s.OutSize()
	for ci := 0; ci < s.Cin; ci++ {
		xp := dx[ci*s.H*s.W : (ci+1)*s.H*s.W]
		for ky := 0; ky < s.KH; ky++ {
			for kx := 0; kx < s.KW; kx++ {
				row := cols[((ci*s.KH+ky)*s.KW+kx)*ho*wo : ((ci*s.KH+ky)*s.KW+kx+1)*ho*wo]
				lo, hi := validCols(wo, s.Stride, kx, s.Pad, s.W)
				if lo == hi {
					continue
				}
				off := kx - s.Pad
				for oy := 0; oy < ho; oy++ {
					iy := oy*s.Stride + ky - s.Pad
					if iy < 0 || iy >= s.H {
						continue
					}
					r := row[oy*wo : (oy+1)*wo]
					dst := xp[iy*s.W:]
					if s.Stride == 1 {
						axpy(1, r[lo:hi], dst[lo+off:hi+off])
						continue
					}
					for ox := lo; ox < hi; ox++ {
						dst[ox*s.Stride+off] += r[ox]
					}
				}
			}
		}
	}
}

var colPool sync.Pool

func getBuf[F Float](n int) []F {
	if v, ok := colPool.Get().(*[]F); ok && cap(*v) >= n {
		return (*v)[:n]
	}
	return make([]F, n)
}

func putBuf[F Float](b []F) { colPool.Put(&b) }

// conv2dForwardGemm is y_n = W·im2col(x_n) + b per sample, samples spread over Workers.
func conv2dForwardGemm[F Float](s ConvShape, x, w, b, y []F) {
	ho, wo := s.OutSize()
	k := s.Cin * s.KH * s.KW
	Parallel(s.N, 1, func(lo, hi int) {
		cols := getBuf[F](k * ho * wo)
		defer putBuf(cols)
		for n := lo; n < hi; n++ {
			im2col(s, x[n*s.Cin*s.H*s.W:(n+1)*s.Cin*s.H*s.W], cols)
			ys := y[n*s.Cout*ho*wo : (n+1)*s.Cout*ho*wo]
			for co := 0; co < s.Cout; co++ {
				var bv F
				if b != nil {
					bv = b[co]
				}
				r := ys[co*ho*wo : (co+1)*ho*wo]
				for i := range r {
					r[i] = bv
				}
			}
			gemmLocal(false, false, s.Cout, ho*wo, k, 1, w, k, cols, ho*wo, 1, ys, ho*wo)
		}
	})
}

// conv2dBackwardGemm: dW += dy_n·colsᵀ, db += Σ dy_n, dx_n = col2im(Wᵀ·dy_n).
func conv2dBackwardGemm[F Float](s ConvShape, x, w, dy, dx, dw, db []F) {
	ho, wo := s.OutSize()
	k := s.Cin * s.KH * s.KW
	var mu sync.Mutex
	Parallel(s.N, 1, func(lo, hi int) {
		cols := getBuf[F](k * ho * wo)
		defer putBuf(cols)
		var dwLocal []F
		if dw != nil {
			dwLocal = getBuf[F](len(dw))
			clear(dwLocal)
			defer putBuf(dwLocal)
		}
		for n := lo; n < hi; n++ {
			dys := dy[n*s.Cout*ho*wo : (n+1)*s.Cout*ho*wo]
			if dw != nil {
				im2col(s, x[n*s.Cin*s.H*s.W:(n+1)*s.Cin*s.H*s.W], cols)
				gemmLocal(false, true, s.Cout, k, ho*wo, 1, dys, ho*wo, cols, ho*wo, 1, dwLocal, k)
			}
			if dx != nil {
				gemmLocal(true, false, k, ho*wo, s.Cout, 1, w, k, dys, ho*wo, 0, cols, ho*wo)
				dxs := dx[n*s.Cin*s.H*s.W : (n+1)*s.Cin*s.H*s.W]
				clear(dxs)
				col2im(s, cols, dxs)
			}
		}
		if dw != nil {
			mu.Lock()
			for i, v := range dwLocal {
				dw[i] += v
			}
			mu.Unlock()
		}
	})
	if db != nil {
		for n := 0; n < s.N; n++ {
			for co := 0; co < s.Cout; co++ {
				var sum F
				for _, v := range dy[(n*s.Cout+co)*ho*wo : (n*s.Cout+co+1)*ho*wo] {
					sum += v
				}
				db[co] += sum
			}
		}
	}
}
