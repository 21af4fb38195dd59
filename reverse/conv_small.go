package reverse

import (
	"fmt"
)

// Direct float64 convolution A and adjoint Aᵀ of one sample, for the small channel
// counts of the conv reverse problems (spec §4.2.2). CG applies the Gram operator AᵀA or
// AAᵀ hundreds of times per call, so these kernels avoid every per-call cost of
// tensor.Conv2dForward/Conv2dBackward (goroutines, allocations, tap-by-tap axpy passes
// over the output): the scratch lives in a smallWork taken from the plan's free list,
// and each output row is produced in one pass that keeps four outputs in registers
// while it runs over all the (channel, kernel row) pairs that feed it. Rows of 5-wide
// kernels go through an AVX2/FMA kernel where the CPU has one (corr5,
// conv_small_amd64.s: eight outputs per pass).
//
// With stride 1 the adjoint is a gather as well: Aᵀg is the full correlation of g with
// the horizontally flipped kernel rows, read off a copy of g padded by KW−1 zero columns
// on both sides, with the kernel rows that fall outside g skipped. With stride > 1 the
// forward is a strided gather and the adjoint a scatter into the padded input grid.

// smallConv holds the weight-dependent, size-dependent layout of A for one sample of
// Cin×H×W.
type smallConv struct {
	cin, cout, kh, kw, stride, pad int
	h, w, ho, wo                   int
	hp, wp                         int // zero-padded input grid
	gw                             int // row length of the padded adjoint input (stride 1)
	weight                         []float64
	// Forward (stride 1): the rows feeding output row oy of channel co are
	// src[oy·wp + fwdOff[p] : …] with weights weight[co·cin·kh·kw + p·kw : …], p = (ci, ky).
	fwdOff []int
	// Adjoint (stride 1): pairs p = (ky, co); input row r of channel ci reads
	// g[r·gw + pad + adjOff[p] : …] with weights adjW[ci·kh·cout·kw + p·kw : …] (kernel
	// rows flipped left to right); valid pairs are the ky with 0 ≤ r − ky < Ho.
	adjOff []int
	adjW   []float64

	free scratchList[smallWork]
}

// smallWork is one goroutine's scratch for a smallConv.
type smallWork struct {
	xpad []float64 // cin×hp×wp, border zero (pad > 0)
	gpad []float64 // cout×ho×gw, side columns zero (stride 1)
	dxp  []float64 // cin×hp×wp adjoint accumulator (stride > 1)
}

// newSmallConv lays out the convolution with weight [cout, cin, kh, kw] for one h×w
// sample; the output size must be positive.
func newSmallConv(weight []float64, cout, cin, kh, kw, stride, pad, h, w int) *smallConv {
	stride = max(stride, 1)
	k := &smallConv{cin: cin, cout: cout, kh: kh, kw: kw, stride: stride, pad: pad, h: h, w: w,
		hp: h + 2*pad, wp: w + 2*pad, weight: weight}
	k.ho = (k.hp-kh)/stride + 1
	k.wo = (k.wp-kw)/stride + 1
	if stride != 1 {
		return k
	}
	k.gw = k.wo + 2*(kw-1)
	k.fwdOff = make([]int, cin*kh)
	for ci := 0; ci < cin; ci++ {
		for ky := 0; ky < kh; ky++ {
			k.fwdOff[ci*kh+ky] = ci*k.hp*k.wp + ky*k.wp
		}
	}
	k.adjOff = make([]int, kh*cout)
	for ky := 0; ky < kh; ky++ {
		for co := 0; co < cout; co++ {
			k.adjOff[ky*cout+co] = co*k.ho*k.gw - ky*k.gw
		}
	}
	k.adjW = make([]float64, cin*kh*cout*kw)
	for ci := 0; ci < cin; ci++ {
		for ky := 0; ky < kh; ky++ {
			for co := 0; co < cout; co++ {
				src := weight[((co*cin+ci)*kh+ky)*kw:]
				dst := k.adjW[((ci*kh+ky)*cout+co)*kw:]
				for kx := 0; kx < kw; kx++ {
					dst[kx] = src[kw-1-kx]
				}
			}
		}
	}
	return k
}

// work returns a scratch space; release gives it back.
func (k *smallConv) work() *smallWork {
	return k.free.get(func() *smallWork {
		wk := &smallWork{}
		if k.pad > 0 {
			wk.xpad = make([]float64, k.cin*k.hp*k.wp)
		}
		if k.stride == 1 {
			wk.gpad = make([]float64, k.cout*k.ho*k.gw)
		} else {
			wk.dxp = make([]float64, k.cin*k.hp*k.wp)
		}
		return wk
	})
}

func (k *smallConv) release(wk *smallWork) { k.free.put(wk) }

// fwd sets y (cout×ho×wo) = A x for one sample x (cin×h×w).
func (k *smallConv) fwd(x, y []float64, wk *smallWork) {
	x = x[:k.cin*k.h*k.w]
	y = y[:k.cout*k.ho*k.wo]
	src := x
	if k.pad > 0 {
		src = wk.xpad
		for ci := 0; ci < k.cin; ci++ {
			for i := 0; i < k.h; i++ {
				o := (ci*k.hp+i+k.pad)*k.wp + k.pad
				copy(src[o:o+k.w], x[(ci*k.h+i)*k.w:(ci*k.h+i+1)*k.w])
			}
		}
	}
	if k.stride != 1 {
		k.fwdStrided(src, y)
		return
	}
	taps := k.cin * k.kh * k.kw
	for co := 0; co < k.cout; co++ {
		wts := k.weight[co*taps : (co+1)*taps]
		for oy := 0; oy < k.ho; oy++ {
			out := y[(co*k.ho+oy)*k.wo : (co*k.ho+oy+1)*k.wo]
			corrRow(out, src, oy*k.wp, k.fwdOff, wts, k.kw)
		}
	}
}

// adj sets x (cin×h×w) = Aᵀ g for one sample's output g (cout×ho×wo).
func (k *smallConv) adj(g, x []float64, wk *smallWork) {
	g = g[:k.cout*k.ho*k.wo]
	x = x[:k.cin*k.h*k.w]
	if k.stride != 1 {
		k.adjStrided(g, x, wk.dxp)
		return
	}
	gp := wk.gpad
	for co := 0; co < k.cout; co++ {
		for oy := 0; oy < k.ho; oy++ {
			o := (co*k.ho+oy)*k.gw + k.kw - 1
			copy(gp[o:o+k.wo], g[(co*k.ho+oy)*k.wo:(co*k.ho+oy+1)*k.wo])
		}
	}
	pairs := k.cout * k.kw
	for ci := 0; ci < k.cin; ci++ {
		wts := k.adjW[ci*k.kh*pairs : (ci+1)*k.kh*pairs]
		for i := 0; i < k.h; i++ {
			out := x[(ci*k.h+i)*k.w : (ci*k.h+i+1)*k.w]
			r := i + k.pad
			lo, hi := max(0, r-k.ho+1), min(k.kh, r+1)
			if lo >= hi {
				clear(out)
				continue
			}
			corrRow(out, gp, r*k.gw+k.pad, k.adjOff[lo*k.cout:hi*k.cout], wts[lo*pairs:hi*pairs], k.kw)
		}
	}
}

// corrRow sets out[j] = Σ_p Σ_kx wts[p·kw+kx]·src[base+offs[p]+j+kx] for every j.
func corrRow(out, src []float64, base int, offs []int, wts []float64, kw int) {
	n := len(out)
	wts = wts[:len(offs)*kw]
	j := 0
	if kw == 5 && hasCorr5 && n >= 4 {
		// Vector kernel on the blocks of four; it reads src[base+offs[p] … +n4+3].
		n4 := n &^ 3
		for _, off := range offs {
			if lo := base + off; lo < 0 || lo+n4+4 > len(src) {
				panic(fmt.Sprintf("reverse: corrRow reads src[%d:%d] of %d", lo, lo+n4+4, len(src)))
			}
		}
		corr5(out[:n4], src, base, offs, wts)
		j = n4
	}
	if kw == 5 {
		for ; j+4 <= n; j += 4 {
			var a0, a1, a2, a3 float64
			for p, off := range offs {
				s := src[base+off+j : base+off+j+8 : base+off+j+8]
				wr := wts[p*5 : p*5+5 : p*5+5]
				w0, w1, w2, w3, w4 := wr[0], wr[1], wr[2], wr[3], wr[4]
				a0 += (w0*s[0] + w1*s[1]) + (w2*s[2] + w3*s[3]) + w4*s[4]
				a1 += (w0*s[1] + w1*s[2]) + (w2*s[3] + w3*s[4]) + w4*s[5]
				a2 += (w0*s[2] + w1*s[3]) + (w2*s[4] + w3*s[5]) + w4*s[6]
				a3 += (w0*s[3] + w1*s[4]) + (w2*s[5] + w3*s[6]) + w4*s[7]
			}
			out[j], out[j+1], out[j+2], out[j+3] = a0, a1, a2, a3
		}
	} else {
		for ; j+4 <= n; j += 4 {
			var a0, a1, a2, a3 float64
			for p, off := range offs {
				s := src[base+off+j : base+off+j+kw+3]
				wr := wts[p*kw : p*kw+kw]
				for kx, wv := range wr {
					t := s[kx : kx+4 : kx+4]
					a0 += wv * t[0]
					a1 += wv * t[1]
					a2 += wv * t[2]
					a3 += wv * t[3]
				}
			}
			out[j], out[j+1], out[j+2], out[j+3] = a0, a1, a2, a3
		}
	}
	for ; j < n; j++ {
		a := 0.0
		for p, off := range offs {
			s := src[base+off+j : base+off+j+kw]
			for kx, wv := range wts[p*kw : p*kw+kw] {
				a += wv * s[kx]
			}
		}
		out[j] = a
	}
}

// fwdStrided is the forward gather for stride > 1 on the padded input src.
func (k *smallConv) fwdStrided(src, y []float64) {
	s, plane := k.stride, k.hp*k.wp
	for co := 0; co < k.cout; co++ {
		for oy := 0; oy < k.ho; oy++ {
			out := y[(co*k.ho+oy)*k.wo : (co*k.ho+oy+1)*k.wo]
			for ox := range out {
				a := 0.0
				for ci := 0; ci < k.cin; ci++ {
					for ky := 0; ky < k.kh; ky++ {
						row := src[ci*plane+(oy*s+ky)*k.wp+ox*s:]
						wr := k.weight[((co*k.cin+ci)*k.kh+ky)*k.kw : ((co*k.cin+ci)*k.kh+ky+1)*k.kw]
						for kx, wv := range wr {
							a += wv * row[kx]
						}
					}
				}
				out[ox] = a
			}
		}
	}
}

// adjStrided is the adjoint for stride > 1: a scatter into the padded grid dxp, cropped
// into x.
func (k *smallConv) adjStrided(g, x, dxp []float64) {
	s, plane := k.stride, k.hp*k.wp
	clear(dxp)
	for co := 0; co < k.cout; co++ {
		for oy := 0; oy < k.ho; oy++ {
			grow := g[(co*k.ho+oy)*k.wo : (co*k.ho+oy+1)*k.wo]
			for ci := 0; ci < k.cin; ci++ {
				for ky := 0; ky < k.kh; ky++ {
					row := dxp[ci*plane+(oy*s+ky)*k.wp:]
					wr := k.weight[((co*k.cin+ci)*k.kh+ky)*k.kw : ((co*k.cin+ci)*k.kh+ky+1)*k.kw]
					for ox, gv := range grow {
						dst := row[ox*s : ox*s+k.kw]
						for kx, wv := range wr {
							dst[kx] += wv * gv
						}
					}
				}
			}
		}
	}
	for ci := 0; ci < k.cin; ci++ {
		for i := 0; i < k.h; i++ {
			o := (ci*k.hp+i+k.pad)*k.wp + k.pad
			copy(x[(ci*k.h+i)*k.w:(ci*k.h+i+1)*k.w], dxp[o:o+k.w])
		}
	}
}
