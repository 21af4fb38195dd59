package tensor

import (
	"slices"
	"sync"
)

// Direct convolution for stride 1 and no padding on small channel counts (the SimpleCNN
// layers), vectorised by computing each output plane "wide": on a grid as wide as the
// input, one kernel tap (ky, kx) of one input channel is a single contiguous
// y[0:L] += w·x[ky·W+kx : ky·W+kx+L] with L = (Ho−1)·W + Wo, so every multiply-add runs in
// a long SIMD axpy (or dot, for the weight gradient). The W−Wo extra columns of each row
// are scratch (forward) or zero (backward) and are never read back.

func conv2dForwardWide[F Float](s ConvShape, x, w, b, y []F) {
	ho, wo := s.OutSize()
	W, plane := s.W, s.H*s.W
	L := (ho-1)*W + wo
	offs := wideOffsets(s)
	Parallel(s.N, 1, func(lo, hi int) {
		yw := getBuf[F](L)
		defer putBuf(yw)
		yw = yw[:L]
		for n := lo; n < hi; n++ {
			xs := x[n*s.Cin*plane : (n+1)*s.Cin*plane]
			ys := y[n*s.Cout*ho*wo : (n+1)*s.Cout*ho*wo]
			for co := 0; co < s.Cout; co++ {
				var bv F
				if b != nil {
					bv = b[co]
				}
				for i := range yw {
					yw[i] = bv
				}
				if y32, ok := any(yw).([]float32); ok {
					// All taps of the channel in one register-blocked pass (same bits).
					taps := s.Cin * s.KH * s.KW
					convTaps32(any(xs).([]float32), offs, any(w[co*taps:(co+1)*taps]).([]float32), y32)
				} else {
					for ci := 0; ci < s.Cin; ci++ {
						xp := xs[ci*plane:]
						wk := w[(co*s.Cin+ci)*s.KH*s.KW:]
						for ky := 0; ky < s.KH; ky++ {
							for kx := 0; kx < s.KW; kx++ {
								axpy(wk[ky*s.KW+kx], xp[ky*W+kx:], yw)
							}
						}
					}
				}
				yp := ys[co*ho*wo:]
				for oy := 0; oy < ho; oy++ {
					copy(yp[oy*wo:(oy+1)*wo], yw[oy*W:oy*W+wo])
				}
			}
		}
	})
}

func conv2dBackwardWide[F Float](s ConvShape, x, w, dy, dx, dw, db []F) {
	ho, wo := s.OutSize()
	W, plane := s.W, s.H*s.W
	L := (ho-1)*W + wo
	wide := ho * W
	var mu sync.Mutex
	partial := map[int][]F{} // per chunk start: dw then db, summed in chunk order
	Parallel(s.N, 1, func(lo, hi int) {
		dyw := make([]F, s.Cout*wide) // columns ≥ Wo stay zero
		var acc []F
		if dw != nil || db != nil {
			acc = make([]F, len(w)+s.Cout)
		}
		for n := lo; n < hi; n++ {
			dys := dy[n*s.Cout*ho*wo : (n+1)*s.Cout*ho*wo]
			for co := 0; co < s.Cout; co++ {
				for oy := 0; oy < ho; oy++ {
					copy(dyw[co*wide+oy*W:co*wide+oy*W+wo], dys[(co*ho+oy)*wo:(co*ho+oy+1)*wo])
				}
			}
			if dx != nil {
				dxs := dx[n*s.Cin*plane : (n+1)*s.Cin*plane]
				clear(dxs)
				for co := 0; co < s.Cout; co++ {
					g := dyw[co*wide : co*wide+L]
					for ci := 0; ci < s.Cin; ci++ {
						xp := dxs[ci*plane:]
						wk := w[(co*s.Cin+ci)*s.KH*s.KW:]
						for ky := 0; ky < s.KH; ky++ {
							for kx := 0; kx < s.KW; kx++ {
								off := ky*W + kx
								axpy(wk[ky*s.KW+kx], g, xp[off:off+L])
							}
						}
					}
				}
			}
			if acc == nil {
				continue
			}
			xs := x[n*s.Cin*plane : (n+1)*s.Cin*plane]
			for co := 0; co < s.Cout; co++ {
				g := dyw[co*wide : co*wide+L]
				if db != nil {
					var sum F
					for _, v := range dys[co*ho*wo : (co+1)*ho*wo] {
						sum += v
					}
					acc[len(w)+co] += sum
				}
				if dw == nil {
					continue
				}
				for ci := 0; ci < s.Cin; ci++ {
					xp := xs[ci*plane:]
					ak := acc[(co*s.Cin+ci)*s.KH*s.KW:]
					for ky := 0; ky < s.KH; ky++ {
						for kx := 0; kx < s.KW; kx++ {
							ak[ky*s.KW+kx] += dot(xp[ky*W+kx:], g)
						}
					}
				}
			}
		}
		if acc != nil {
			mu.Lock()
			partial[lo] = acc
			mu.Unlock()
		}
	})
	if len(partial) == 0 {
		return
	}
	keys := make([]int, 0, len(partial))
	for k := range partial {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a fixed summation order: the same inputs give the same bits
	for _, k := range keys {
		p := partial[k]
		for i := range dw {
			dw[i] += p[i]
		}
		for i := range db {
			db[i] += p[len(w)+i]
		}
	}
}

// wideOffsets lists the offset ci·H·W + ky·W + kx of every kernel tap in weight order
// (ci, ky, kx): the start in one sample's input of that tap's wide row.
func wideOffsets(s ConvShape) []int32 {
	offs := make([]int32, 0, s.Cin*s.KH*s.KW)
	for ci := 0; ci < s.Cin; ci++ {
		for ky := 0; ky < s.KH; ky++ {
			for kx := 0; kx < s.KW; kx++ {
				offs = append(offs, int32(ci*s.H*s.W+ky*s.W+kx))
			}
		}
	}
	return offs
}
