package tensor

import "fmt"

// ConvShape describes a 2-D convolution on NCHW data with weight [Cout, Cin, KH, KW],
// equal stride and zero padding on both axes (dilation 1, groups 1).
type ConvShape struct {
	N, Cin, H, W int
	Cout, KH, KW int
	Stride, Pad  int
}

// OutSize returns the output height and width.
func (s ConvShape) OutSize() (int, int) {
	return (s.H+2*s.Pad-s.KH)/s.Stride + 1, (s.W+2*s.Pad-s.KW)/s.Stride + 1
}

func (s ConvShape) check(op string, x, w, y int) {
	ho, wo := s.OutSize()
	if s.Stride < 1 || ho < 1 || wo < 1 || x != s.N*s.Cin*s.H*s.W || w != s.Cout*s.Cin*s.KH*s.KW || y != s.N*s.Cout*ho*wo {
		panic(fmt.Sprintf("tensor.%s: sizes x=%d w=%d y=%d do not fit %+v", op, x, w, y, s))
	}
}

// validRange returns the output positions o in [0, outLen) whose input index
// o*stride + k − pad lies in [0, inLen).
func validRange(k, pad, stride, inLen, outLen int) (int, int) {
	lo := 0
	if d := pad - k; d > 0 {
		lo = (d + stride - 1) / stride
	}
	hi := outLen
	if last := inLen - 1 + pad - k; last < 0 {
		hi = 0
	} else if m := last/stride + 1; m < hi {
		hi = m
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// useGemm reports whether a convolution goes through im2col and SGEMM
// (conv2dForwardGemm, conv2dBackwardGemm): large ones, and padded or strided ones with
// at least 8 output channels (such as a ResNet stem), for which the direct loops below
// are scalar. Small unpadded stride-1 ones (the SimpleCNN layers) use the "wide" direct
// kernels of conv_direct.go.
func (s ConvShape) useGemm() bool {
	if s.Cin*s.KH*s.KW >= 64 && s.Cout >= 16 {
		return true
	}
	return (s.Stride != 1 || s.Pad != 0) && s.Cout >= 8
}

// Conv2dForward computes y = conv(x, w) + b (b may be nil), overwriting y. Samples are
// spread over Workers goroutines. Large convolutions go through im2col and SGEMM (see
// useGemm); otherwise the loops are direct: for every output channel and kernel tap a
// contiguous row update, which suits the small channel counts of the SimpleCNNs.
//
// Stride-1 3×3 float32 convolutions with at least 16 channels may instead run Winograd
// (winograd_select.go), chosen per shape by a one-time measurement.
func Conv2dForward[F Float](s ConvShape, x, w, b, y []F) {
	s.check("Conv2dForward", len(x), len(w), len(y))
	if conv3x3Forward(s, x, w, b, y) {
		return
	}
	conv2dForwardDefault(s, x, w, b, y)
}

// conv2dForwardDefault is Conv2dForward on the im2col + SGEMM or direct kernels.
func conv2dForwardDefault[F Float](s ConvShape, x, w, b, y []F) {
	if s.useGemm() {
		conv2dForwardGemm(s, x, w, b, y)
		return
	}
	if s.Stride == 1 && s.Pad == 0 {
		conv2dForwardWide(s, x, w, b, y)
		return
	}
	ho, wo := s.OutSize()
	Parallel(s.N, 1, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			xs := x[n*s.Cin*s.H*s.W : (n+1)*s.Cin*s.H*s.W]
			ys := y[n*s.Cout*ho*wo : (n+1)*s.Cout*ho*wo]
			for co := 0; co < s.Cout; co++ {
				yp := ys[co*ho*wo : (co+1)*ho*wo]
				var bv F
				if b != nil {
					bv = b[co]
				}
				for i := range yp {
					yp[i] = bv
				}
				for ci := 0; ci < s.Cin; ci++ {
					xp := xs[ci*s.H*s.W : (ci+1)*s.H*s.W]
					for ky := 0; ky < s.KH; ky++ {
						oyLo, oyHi := validRange(ky, s.Pad, s.Stride, s.H, ho)
						for kx := 0; kx < s.KW; kx++ {
							wv := w[((co*s.Cin+ci)*s.KH+ky)*s.KW+kx]
							oxLo, oxHi := validRange(kx, s.Pad, s.Stride, s.W, wo)
							if oxLo >= oxHi {
								continue
							}
							for oy := oyLo; oy < oyHi; oy++ {
								iy := oy*s.Stride + ky - s.Pad
								row := yp[oy*wo+oxLo : oy*wo+oxHi]
								if s.Stride == 1 {
									in := xp[iy*s.W+oxLo+kx-s.Pad : iy*s.W+oxHi+kx-s.Pad]
									in = in[:len(row)]
									for i := range row {
										row[i] += wv * in[i]
									}
								} else {
									base := iy*s.W + kx - s.Pad
									for i := range row {
										row[i] += wv * xp[base+(oxLo+i)*s.Stride]
									}
								}
							}
						}
					}
				}
			}
		}
	})
}

// Conv2dBackward computes the gradients of a convolution from dy: dx (overwritten, may
// be nil to skip), dw and db (accumulated into, may be nil to skip).
// Eligible 3×3 convolutions may run Winograd for dx and dw (see Conv2dForward).
func Conv2dBackward[F Float](s ConvShape, x, w, dy, dx, dw, db []F) {
	s.check("Conv2dBackward", len(x), len(w), len(dy))
	if conv3x3Backward(s, x, w, dy, dx, dw, db) {
		return
	}
	conv2dBackwardDefault(s, x, w, dy, dx, dw, db)
}

// Conv2dBackwardAdd is Conv2dBackward with the input gradient added to dx (dx += ∂L/∂x)
// instead of stored in it: the bits of Conv2dBackward into a scratch slice followed by
// Add(scratch, dx, dx). Where the input gradient goes through Winograd it is added to dx
// row by row as it is stored, without the scratch pass; a residual block's shortcut
// gradient is summed that way.
func Conv2dBackwardAdd[F Float](s ConvShape, x, w, dy, dx, dw, db []F) {
	s.check("Conv2dBackwardAdd", len(x), len(w), len(dy))
	if len(dx) != len(x) {
		panic(fmt.Sprintf("tensor.Conv2dBackwardAdd: dx has %d values, want %d (the input's)", len(dx), len(x)))
	}
	if conv3x3InputGradAdd(s, w, dy, dx) {
		Conv2dBackward(s, x, w, dy, nil, dw, db)
		return
	}
	g := getBuf[F](len(dx))[:len(dx)]
	defer putBuf(g)
	Conv2dBackward(s, x, w, dy, g, dw, db)
	Parallel(len(dx), 1<<15, func(lo, hi int) { Add(g[lo:hi], dx[lo:hi], dx[lo:hi]) })
}

// conv2dBackwardDefault is Conv2dBackward on the im2col + SGEMM or direct kernels.
func conv2dBackwardDefault[F Float](s ConvShape, x, w, dy, dx, dw, db []F) {
	if s.useGemm() {
		conv2dBackwardGemm(s, x, w, dy, dx, dw, db)
		return
	}
	if s.Stride == 1 && s.Pad == 0 {
		conv2dBackwardWide(s, x, w, dy, dx, dw, db)
		return
	}
	ho, wo := s.OutSize()
	if dx != nil {
		Parallel(s.N, 1, func(lo, hi int) {
			for n := lo; n < hi; n++ {
				dxs := dx[n*s.Cin*s.H*s.W : (n+1)*s.Cin*s.H*s.W]
				clear(dxs)
				dys := dy[n*s.Cout*ho*wo : (n+1)*s.Cout*ho*wo]
				for co := 0; co < s.Cout; co++ {
					gp := dys[co*ho*wo : (co+1)*ho*wo]
					for ci := 0; ci < s.Cin; ci++ {
						xp := dxs[ci*s.H*s.W : (ci+1)*s.H*s.W]
						for ky := 0; ky < s.KH; ky++ {
							oyLo, oyHi := validRange(ky, s.Pad, s.Stride, s.H, ho)
							for kx := 0; kx < s.KW; kx++ {
								wv := w[((co*s.Cin+ci)*s.KH+ky)*s.KW+kx]
								oxLo, oxHi := validRange(kx, s.Pad, s.Stride, s.W, wo)
								if oxLo >= oxHi {
									continue
								}
								for oy := oyLo; oy < oyHi; oy++ {
									iy := oy*s.Stride + ky - s.Pad
									g := gp[oy*wo+oxLo : oy*wo+oxHi]
									if s.Stride == 1 {
										out := xp[iy*s.W+oxLo+kx-s.Pad : iy*s.W+oxHi+kx-s.Pad]
										out = out[:len(g)]
										for i := range g {
											out[i] += wv * g[i]
										}
									} else {
										base := iy*s.W + kx - s.Pad
										for i := range g {
											xp[base+(oxLo+i)*s.Stride] += wv * g[i]
										}
									}
								}
							}
						}
					}
				}
			}
		})
	}
	if dw == nil && db == nil {
		return
	}
	// Weight and bias gradients: split over output channels (no write conflicts).
	Parallel(s.Cout, 1, func(lo, hi int) {
		for co := lo; co < hi; co++ {
			for n := 0; n < s.N; n++ {
				gp := dy[(n*s.Cout+co)*ho*wo : (n*s.Cout+co+1)*ho*wo]
				if db != nil {
					var sum F
					for _, v := range gp {
						sum += v
					}
					db[co] += sum
				}
				if dw == nil {
					continue
				}
				for ci := 0; ci < s.Cin; ci++ {
					xp := x[(n*s.Cin+ci)*s.H*s.W : (n*s.Cin+ci+1)*s.H*s.W]
					for ky := 0; ky < s.KH; ky++ {
						oyLo, oyHi := validRange(ky, s.Pad, s.Stride, s.H, ho)
						for kx := 0; kx < s.KW; kx++ {
							oxLo, oxHi := validRange(kx, s.Pad, s.Stride, s.W, wo)
							if oxLo >= oxHi {
								continue
							}
							var acc F
							for oy := oyLo; oy < oyHi; oy++ {
								iy := oy*s.Stride + ky - s.Pad
								g := gp[oy*wo+oxLo : oy*wo+oxHi]
								if s.Stride == 1 {
									in := xp[iy*s.W+oxLo+kx-s.Pad : iy*s.W+oxHi+kx-s.Pad]
									in = in[:len(g)]
									for i := range g {
										acc += g[i] * in[i]
									}
								} else {
									base := iy*s.W + kx - s.Pad
									for i := range g {
										acc += g[i] * xp[base+(oxLo+i)*s.Stride]
									}
								}
							}
							dw[((co*s.Cin+ci)*s.KH+ky)*s.KW+kx] += acc
						}
					}
				}
			}
		}
	})
}
