package tensor

import (
	"fmt"
	"math"
)

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
				maxPool2x2Row(xp, yp[oy*wo:(oy+1)*wo], ip[oy*wo:(oy+1)*wo], oy, w)
			}
		}
	})
}

// maxPool2x2Row pools output row oy of a plane p of width w into yr and ir (flat arg-max
// indices into p), the first arg-max in row-major window order winning.
func maxPool2x2Row[F Float](p, yr []F, ir []int32, oy, w int) {
	wo := len(yr)
	r0 := p[2*oy*w : 2*oy*w+2*wo]
	r1 := p[(2*oy+1)*w : (2*oy+1)*w+2*wo]
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

// ReLUMaxPool2x2 is a = max(x, 0) followed by MaxPool2dForward(planes, h, w, 2, 2, 0, a,
// y, idx) in one pass over planes of h×w: each pair of rows is rectified and pooled while
// it is in cache (float32 with AVX-512: each plane rectified, then pooled 16 windows at a
// time, simd_amd64_gen.go). a, y and idx get the same bits as the two separate passes
// (odd last rows and columns are rectified, not pooled).
func ReLUMaxPool2x2[F Float](planes, h, w int, x, a, y []F, idx []int32) {
	ho, wo := h/2, w/2
	if len(x) != planes*h*w || len(a) != len(x) || len(y) != planes*ho*wo || len(idx) != len(y) {
		panic(fmt.Sprintf("tensor.ReLUMaxPool2x2: sizes x=%d a=%d y=%d idx=%d for %d planes %dx%d", len(x), len(a), len(y), len(idx), planes, h, w))
	}
	relu := func(x, a []F) {
		a = a[:len(x)]
		for i, v := range x {
			a[i] = max(v, 0)
		}
	}
	x32, _ := any(x).([]float32)
	a32, _ := any(a).([]float32)
	y32, _ := any(y).([]float32)
	Parallel(planes, 8, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp, ap := x[p*h*w:(p+1)*h*w], a[p*h*w:(p+1)*h*w]
			yp, ip := y[p*ho*wo:(p+1)*ho*wo], idx[p*ho*wo:(p+1)*ho*wo]
			if x32 != nil && reluPool2x2Plane32(x32[p*h*w:(p+1)*h*w], a32[p*h*w:(p+1)*h*w], y32[p*ho*wo:(p+1)*ho*wo], ip, h, w) {
				continue
			}
			for oy := 0; oy < ho; oy++ {
				relu(xp[2*oy*w:(2*oy+2)*w], ap[2*oy*w:(2*oy+2)*w])
				maxPool2x2Row(ap, yp[oy*wo:(oy+1)*wo], ip[oy*wo:(oy+1)*wo], oy, w)
			}
			if h%2 == 1 {
				relu(xp[(h-1)*w:], ap[(h-1)*w:])
			}
		}
	})
}

// ReLUMaxPool2x2Backward is the gradient through ReLUMaxPool2x2 given its pooled output
// y and arg-maxes idx: MaxPool2dBackward (dy routed to the arg-max of each window, zero
// elsewhere) followed by the ReLU mask (kept where the rectified value, y at the arg-max,
// is non-zero), in one pass writing dx. The same bits as the two passes: a −0 gradient
// becomes +0 as it does when added to the cleared dx.
func ReLUMaxPool2x2Backward[F Float](planes, h, w int, dy, y []F, idx []int32, dx []F) {
	ho, wo := h/2, w/2
	if len(dx) != planes*h*w || len(dy) != planes*ho*wo || len(y) != len(dy) || len(idx) != len(dy) {
		panic(fmt.Sprintf("tensor.ReLUMaxPool2x2Backward: sizes dx=%d dy=%d y=%d idx=%d for %d planes %dx%d", len(dx), len(dy), len(y), len(idx), planes, h, w))
	}
	Parallel(planes, 8, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			dp := dx[p*h*w : (p+1)*h*w]
			gs, ys, is := dy[p*ho*wo:(p+1)*ho*wo], y[p*ho*wo:(p+1)*ho*wo], idx[p*ho*wo:(p+1)*ho*wo]
			ys, is = ys[:len(gs)], is[:len(gs)]
			if g32, ok := any(gs).([]float32); ok && reluPoolBack2x2Plane32(g32, any(ys).([]float32), is, any(dp).([]float32), h, w) {
				continue
			}
			clear(dp)
			if g32, ok := any(gs).([]float32); ok {
				reluPoolScatter32(any(dp).([]float32), g32, any(ys).([]float32), is)
				continue
			}
			for o, g := range gs {
				if ys[o] != 0 && g != 0 {
					dp[is[o]] = g
				}
			}
		}
	})
}

// reluPoolScatter32 writes dy[o] at dx[idx[o]] where y[o] ≠ 0, +0 where y[o] = 0 or dy[o]
// is ±0, with bit masks instead of branches (the signs are random).
func reluPoolScatter32(dx, dy, y []float32, idx []int32) {
	y, idx = y[:len(dy)], idx[:len(dy)]
	for o, g := range dy {
		b := math.Float32bits(y[o])
		m := uint32(int32(b|-b) >> 31) // all ones iff y ≠ ±0
		u := math.Float32bits(g)
		z := u << 1
		m &= uint32(int32(z|-z) >> 31) // and dy ≠ ±0
		dx[idx[o]] = math.Float32frombits(u & m)
	}
}
