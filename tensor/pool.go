package tensor

import "fmt"

// MaxPool2dForward computes max pooling over k×k windows with the given stride and
// padding (padding counts as −∞) on NCHW data of n·c planes h×w, overwriting y and
// recording the flat in-plane arg-max of every output in idx.
func MaxPool2dForward[F Float](planes, h, w, k, stride, pad int, x, y []F, idx []int32) {
	ho, wo := (h+2*pad-k)/stride+1, (w+2*pad-k)/stride+1
	if len(x) != planes*h*w || len(y) != planes*ho*wo || len(idx) != len(y) {
		panic(fmt.Sprintf("tensor.MaxPool2dForward: sizes x=%d y=%d idx=%d for %d planes %dx%d k=%d", len(x), len(y), len(idx), planes, h, w, k))
	}
	if k == 2 && stride == 2 && pad == 0 {
		maxPool2x2(planes, h, w, x, y, idx)
		return
	}
	Parallel(planes, 8, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x[p*h*w : (p+1)*h*w]
			for oy := 0; oy < ho; oy++ {
				for ox := 0; ox < wo; ox++ {
					best, bi := F(0), int32(-1)
					for dy := 0; dy < k; dy++ {
						iy := oy*stride + dy - pad
						if iy < 0 || iy >= h {
							continue
						}
						for dx := 0; dx < k; dx++ {
							ix := ox*stride + dx - pad
							if ix < 0 || ix >= w {
								continue
							}
							if v := xp[iy*w+ix]; bi < 0 || v > best {
								best, bi = v, int32(iy*w+ix)
							}
						}
					}
					o := p*ho*wo + oy*wo + ox
					y[o], idx[o] = best, bi
				}
			}
		}
	})
}

// MaxPool2dBackward routes dy to the recorded arg-max positions of dx (overwritten).
func MaxPool2dBackward[F Float](planes, hw, howo int, dy, dx []F, idx []int32) {
	clear(dx)
	Parallel(planes, 8, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			for o := p * howo; o < (p+1)*howo; o++ {
				dx[p*hw+int(idx[o])] += dy[o]
			}
		}
	})
}

// AvgPool2dForward is non-padded average pooling over k×k windows with the given stride.
func AvgPool2dForward[F Float](planes, h, w, k, stride int, x, y []F) {
	ho, wo := (h-k)/stride+1, (w-k)/stride+1
	inv := 1 / F(k*k)
	for p := 0; p < planes; p++ {
		xp := x[p*h*w : (p+1)*h*w]
		for oy := 0; oy < ho; oy++ {
			for ox := 0; ox < wo; ox++ {
				var s F
				for dy := 0; dy < k; dy++ {
					for dx := 0; dx < k; dx++ {
						s += xp[(oy*stride+dy)*w+ox*stride+dx]
					}
				}
				y[p*ho*wo+oy*wo+ox] = s * inv
			}
		}
	}
}

// AvgPool2dBackward spreads dy evenly over each window of dx (overwritten).
func AvgPool2dBackward[F Float](planes, h, w, k, stride int, dy, dx []F) {
	ho, wo := (h-k)/stride+1, (w-k)/stride+1
	inv := 1 / F(k*k)
	clear(dx)
	for p := 0; p < planes; p++ {
		dp := dx[p*h*w : (p+1)*h*w]
		for oy := 0; oy < ho; oy++ {
			for ox := 0; ox < wo; ox++ {
				g := dy[p*ho*wo+oy*wo+ox] * inv
				for dy := 0; dy < k; dy++ {
					for dx := 0; dx < k; dx++ {
						dp[(oy*stride+dy)*w+ox*stride+dx] += g
					}
				}
			}
		}
	}
}

// maxPool2x2 is MaxPool2dForward for 2×2 windows with stride 2 and no padding (the
// SimpleCNN pools): no bounds tests, the first arg-max in row-major window order wins.
func maxPool2x2[F Float](planes, h, w int, x, y []F, idx []int32) {
	ho, wo := h/2, w/2
	Parallel(planes, 8, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x[p*h*w : (p+1)*h*w]
			yp := y[p*ho*wo : (p+1)*ho*wo]
			ip := idx[p*ho*wo : (p+1)*ho*wo]
			for oy := 0; oy < ho; oy++ {
				r0 := xp[2*oy*w : 2*oy*w+2*wo]
				r1 := xp[(2*oy+1)*w : (2*oy+1)*w+2*wo]
				yr, ir := yp[oy*wo:(oy+1)*wo], ip[oy*wo:(oy+1)*wo]
				base := int32(2 * oy * w)
				for ox := range yr {
					i := 2 * ox
					best, bi := r0[i], base+int32(i)
					if v := r0[i+1]; v > best {
						best, bi = v, base+int32(i+1)
					}
					if v := r1[i]; v > best {
						best, bi = v, base+int32(w+i)
					}
					if v := r1[i+1]; v > best {
						best, bi = v, base+int32(w+i+1)
					}
					yr[ox], ir[ox] = best, bi
				}
			}
		}
	})
}
