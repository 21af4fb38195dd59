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
	taps := len(offs)
	wI := interleaveTaps(w, s.Cout, taps)
	Parallel(s.N, 1, func(lo, hi int) {
		yw := getBuf[F](s.Cout * L)
		defer putBuf(yw)
		yw = yw[:s.Cout*L]
		for n := lo; n < hi; n++ {
			xs := x[n*s.Cin*plane : (n+1)*s.Cin*plane]
			ys := y[n*s.Cout*ho*wo : (n+1)*s.Cout*ho*wo]
			for co := 0; co < s.Cout; co++ {
				var bv F
				if b != nil {
					bv = b[co]
				}
				fill(yw[co*L:(co+1)*L], bv)
			}
			// All taps of up to four channels in one register-blocked pass (same bits).
			wideTapsMulti(xs, offs, w, wI, yw, L, s.Cout)
			for co := 0; co < s.Cout; co++ {
				copyRows(ys[co*ho*wo:(co+1)*ho*wo], yw[co*L:(co+1)*L], ho, wo, wo, W)
			}
		}
	})
}

// fill sets every element of y to v, doubling copies.
func fill[F Float](y []F, v F) {
	if len(y) == 0 {
		return
	}
	y[0] = v
	for k := 1; k < len(y); k *= 2 {
		copy(y[k:], y[:k])
	}
}

// interleaveTaps reorders the weights of c outputs, w[ch·T+t], into the layout of
// convTapsMulti32 for float32: groups of up to four outputs, group k (outputs 4k …) at
// 4k·T holding w[t·g+ch−4k] for its g outputs. It returns nil for float64.
func interleaveTaps[F Float](w []F, c, T int) []F {
	if _, ok := any(w).([]float32); !ok {
		return nil
	}
	wI := make([]F, c*T)
	for ch0 := 0; ch0 < c; ch0 += 4 {
		g := min(4, c-ch0)
		for k := 0; k < g; k++ {
			for t := 0; t < T; t++ {
				wI[ch0*T+t*g+k] = w[(ch0+k)*T+t]
			}
		}
	}
	return wI
}

// wideTapsMulti is y[ch·n+j] += Σ_t w[ch·T+t]·x[offs[t]+j] for c outputs, j < n: for
// float32 convTapsMulti32 on up to four outputs at a time (wI = interleaveTaps(w)), one
// axpy per tap otherwise; the same bits either way.
func wideTapsMulti[F Float](x []F, offs []int32, w, wI, y []F, n, c int) {
	T := len(offs)
	if y32, ok := any(y).([]float32); ok {
		x32, wI32 := any(x).([]float32), any(wI).([]float32)
		for ch0 := 0; ch0 < c; ch0 += 4 {
			g := min(4, c-ch0)
			convTapsMulti32(x32, offs, wI32[ch0*T:(ch0+g)*T], y32[ch0*n:(ch0+g)*n], n, g)
		}
		return
	}
	if n == 0 {
		return
	}
	for ch := 0; ch < c; ch++ {
		for t, o := range offs {
			axpy(w[ch*T+t], x[o:], y[ch*n:(ch+1)*n])
		}
	}
}

// conv2dBackwardWide computes dx as a full correlation of dy with the flipped kernel:
// each sample's wide output gradient is stored with P = (KH−1)·W + KW−1 zeros in front
// (wideGradPad), so dx[ci][i] = Σ_(co,ky,kx) w[co,ci,ky,kx]·gp[co][P − ky·W − kx + i] is
// one wideTapsMulti pass for all input channels (for float32 every tap in registers, up
// to four channels sharing the loads of gp) instead of one axpy per (co, ci, tap). The taps run in the order of the per-tap loop (co, ky, kx),
// each a fused multiply-add, so dx has the same bits (the added products of the zero
// padding are ±0, which leave every sum as it was). dw is a dot per tap (wideDots: for
// float32 thirteen taps at a time sharing the loads of dy, the bits of dot32), db a
// sequential sum per plane; partial sums of the worker chunks are added in chunk order.
func conv2dBackwardWide[F Float](s ConvShape, x, w, dy, dx, dw, db []F) {
	ho, wo := s.OutSize()
	W, plane := s.W, s.H*s.W
	L := (ho-1)*W + wo
	kk := s.KH * s.KW
	pad, stride := wideGradPad(s)
	var offsT, offs []int32
	var wT, wTI []F
	if dx != nil {
		offsT, wT = flippedTaps(s, w, stride, pad)
		wTI = interleaveTaps(wT, s.Cin, len(offsT))
	}
	nw := s.Cin * kk // weights per output channel
	if dw != nil {
		offs = wideOffsets(s)
	}
	type part struct {
		lo  int
		acc []F
	}
	var mu sync.Mutex
	var parts []part
	Parallel(s.N, 1, func(lo, hi int) {
		gp := getBuf[F](s.Cout * stride)
		defer putBuf(gp)
		clear(gp) // the padding and the columns ≥ Wo stay zero
		var acc, dots []F
		if dw != nil || db != nil {
			acc = make([]F, len(w)+s.Cout)
			dots = make([]F, nw)
		}
		if db != nil {
			// The planes of the chunk's samples are consecutive: their sums run eight
			// side by side and are added per sample in order.
			sums := getBuf[F]((hi - lo) * s.Cout)
			clear(sums)
			planeSums(dy[lo*s.Cout*ho*wo:hi*s.Cout*ho*wo], ho*wo, sums)
			for i, v := range sums {
				acc[len(w)+i%s.Cout] += v
			}
			putBuf(sums)
		}
		for n := lo; n < hi; n++ {
			dys := dy[n*s.Cout*ho*wo : (n+1)*s.Cout*ho*wo]
			for co := 0; co < s.Cout; co++ {
				copyRows(gp[co*stride+pad:(co+1)*stride], dys[co*ho*wo:(co+1)*ho*wo], ho, wo, W, wo)
			}
			if dx != nil {
				dxs := dx[n*s.Cin*plane : (n+1)*s.Cin*plane]
				clear(dxs)
				wideTapsMulti(gp, offsT, wT, wTI, dxs, plane, s.Cin)
			}
			if dw == nil {
				continue
			}
			xs := x[n*s.Cin*plane : (n+1)*s.Cin*plane]
			for co := 0; co < s.Cout; co++ {
				g := gp[co*stride+pad : co*stride+pad+L]
				wideDots(xs, offs, g, dots)
				ak := acc[co*nw : (co+1)*nw]
				for t, v := range dots {
					ak[t] += v
				}
			}
		}
		if acc != nil {
			mu.Lock()
			parts = append(parts, part{lo, acc})
			mu.Unlock()
		}
	})
	// A fixed summation order: the same inputs give the same bits.
	slices.SortFunc(parts, func(a, b part) int { return a.lo - b.lo })
	for _, p := range parts {
		for i := range dw {
			dw[i] += p.acc[i]
		}
		for i := range db {
			db[i] += p.acc[len(w)+i]
		}
	}
}

// wideGradPad returns the zeros P = (KH−1)·W + KW−1 in front of each output channel's
// wide gradient in conv2dBackwardWide, and the stride P + H·W of the channels (every tap
// of the flipped-kernel correlation reads inside its channel).
func wideGradPad(s ConvShape) (pad, stride int) {
	pad = (s.KH-1)*s.W + s.KW - 1
	return pad, pad + s.H*s.W
}

// flippedTaps lists, for every input channel ci, the taps of the input-gradient
// correlation in the order (co, ky, kx): the offsets co·stride + P − ky·W − kx in the
// padded gradient (the same for every ci) and the weights w[co, ci, ky, kx].
func flippedTaps[F Float](s ConvShape, w []F, stride, pad int) ([]int32, []F) {
	kk := s.KH * s.KW
	nt := s.Cout * kk
	offs := make([]int32, 0, nt)
	for co := 0; co < s.Cout; co++ {
		for ky := 0; ky < s.KH; ky++ {
			for kx := 0; kx < s.KW; kx++ {
				offs = append(offs, int32(co*stride+pad-ky*s.W-kx))
			}
		}
	}
	wT := make([]F, s.Cin*nt)
	for ci := 0; ci < s.Cin; ci++ {
		for co := 0; co < s.Cout; co++ {
			copy(wT[ci*nt+co*kk:ci*nt+(co+1)*kk], w[(co*s.Cin+ci)*kk:(co*s.Cin+ci+1)*kk])
		}
	}
	return offs, wT
}

// wideDots sets out[t] = dot(x[offs[t]:], g) for every tap t: dotTaps32 for float32 (the
// same bits as dot32), one dot per tap otherwise.
func wideDots[F Float](x []F, offs []int32, g, out []F) {
	if o32, ok := any(out).([]float32); ok {
		dotTaps32(any(x).([]float32), offs, any(g).([]float32), o32)
		return
	}
	for t, o := range offs {
		out[t] = dot(x[o:], g)
	}
}

// planeSums adds to out[p] the sequential sum of plane p of x (planes of hw values, in
// order, as a plain loop would), running eight planes' sums side by side so the chains of
// dependent additions overlap.
func planeSums[F Float](x []F, hw int, out []F) {
	p := 0
	for ; p+8 <= len(out); p += 8 {
		x0 := x[p*hw : (p+1)*hw]
		x1, x2, x3 := x[(p+1)*hw:(p+2)*hw], x[(p+2)*hw:(p+3)*hw], x[(p+3)*hw:(p+4)*hw]
		x4, x5, x6, x7 := x[(p+4)*hw:(p+5)*hw], x[(p+5)*hw:(p+6)*hw], x[(p+6)*hw:(p+7)*hw], x[(p+7)*hw:(p+8)*hw]
		x1, x2, x3 = x1[:len(x0)], x2[:len(x0)], x3[:len(x0)]
		x4, x5, x6, x7 = x4[:len(x0)], x5[:len(x0)], x6[:len(x0)], x7[:len(x0)]
		var s0, s1, s2, s3, s4, s5, s6, s7 F
		for i, v := range x0 {
			s0 += v
			s1 += x1[i]
			s2 += x2[i]
			s3 += x3[i]
			s4 += x4[i]
			s5 += x5[i]
			s6 += x6[i]
			s7 += x7[i]
		}
		out[p] += s0
		out[p+1] += s1
		out[p+2] += s2
		out[p+3] += s3
		out[p+4] += s4
		out[p+5] += s5
		out[p+6] += s6
		out[p+7] += s7
	}
	for ; p+2 <= len(out); p += 2 {
		x0, x1 := x[p*hw:(p+1)*hw], x[(p+1)*hw:(p+2)*hw]
		x1 = x1[:len(x0)]
		var s0, s1 F
		for i, v := range x0 {
			s0 += v
			s1 += x1[i]
		}
		out[p] += s0
		out[p+1] += s1
	}
	if p < len(out) {
		var s0 F
		for _, v := range x[p*hw : (p+1)*hw] {
			s0 += v
		}
		out[p] += s0
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
