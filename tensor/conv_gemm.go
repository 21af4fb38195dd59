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

// im2col writes the [Cin·KH·KW, Ho·Wo] column matrix of one sample into cols, row r at
// cols[r·ld:] (ld ≥ Ho·Wo, so that several samples can sit side by side in one wider
// matrix). Each row segment is a bounds-free copy (stride 1) or gather (stride > 1) over
// the valid columns, with the padding columns cleared around it.
func im2col[F Float](s ConvShape, x, cols []F, ld int) {
	switch colLayoutOf(s) {
	case colSame:
		im2colSame(s, x, cols, ld)
	case colHalve3:
		im2colHalve3(s, x, cols, ld)
	case colHalve1:
		im2colHalve1(s, x, cols, ld)
	default:
		im2colGeneral(s, x, cols, ld)
	}
}

// colLayout names the shapes im2col and col2im have their own loops for.
type colLayout int

const (
	colGeneral colLayout = iota
	colSame              // stride 1, output the input's size (im2colSame)
	colHalve3            // 3×3, stride 2, padding 1, even width (im2colHalve3)
	colHalve1            // 1×1, stride 2, padding 0 (im2colHalve1)
)

func colLayoutOf(s ConvShape) colLayout {
	ho, wo := s.OutSize()
	switch {
	case s.Stride == 1 && ho == s.H && wo == s.W:
		return colSame
	case s.Stride == 2 && s.KH == 3 && s.KW == 3 && s.Pad == 1 && s.W%2 == 0:
		return colHalve3
	case s.Stride == 2 && s.KH == 1 && s.KW == 1 && s.Pad == 0:
		return colHalve1
	}
	return colGeneral
}

// im2colGeneral is im2col's loop for any shape.
func im2colGeneral[F Float](s ConvShape, x, cols []F, ld int) {
	ho, wo := s.OutSize()
	for ci := 0; ci < s.Cin; ci++ {
		xp := x[ci*s.H*s.W : (ci+1)*s.H*s.W]
		for ky := 0; ky < s.KH; ky++ {
			for kx := 0; kx < s.KW; kx++ {
				r0 := ((ci*s.KH+ky)*s.KW + kx) * ld
				row := cols[r0 : r0+ho*wo]
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

// im2colHalve3 is im2col for the colHalve3 convolutions (ResNet's downsampling 3×3
// convolutions of even-width maps): each input row that a kernel row reads gives all
// three taps' output rows at once, its even columns (kx = 1) and its odd ones (kx = 2,
// and kx = 0 one column to the right). The output rows are short (16, 8 and 4 values in
// ResNet-18), so the general loop's per-row work dominated it.
func im2colHalve3[F Float](s ConvShape, x, cols []F, ld int) {
	ho, wo := s.OutSize()
	hw := s.H * s.W
	for ci := 0; ci < s.Cin; ci++ {
		xp := x[ci*hw : (ci+1)*hw]
		for ky := 0; ky < 3; ky++ {
			r0 := (ci*3 + ky) * 3 * ld
			left, mid, right := cols[r0:r0+ho*wo], cols[r0+ld:r0+ld+ho*wo], cols[r0+2*ld:r0+2*ld+ho*wo]
			for oy := 0; oy < ho; oy++ {
				a, b, c := left[oy*wo:(oy+1)*wo], mid[oy*wo:(oy+1)*wo], right[oy*wo:(oy+1)*wo]
				iy := 2*oy + ky - 1
				if iy < 0 || iy >= s.H {
					clear(a)
					clear(b)
					clear(c)
					continue
				}
				src := xp[iy*s.W : (iy+1)*s.W]
				for ox := range b {
					b[ox] = src[2*ox]
					c[ox] = src[2*ox+1]
				}
				a[0] = 0
				copy(a[1:], c[:wo-1])
			}
		}
	}
}

// im2colHalve1 is im2col for the colHalve1 convolutions (ResNet's downsampling
// shortcuts): row ci of cols is every other value of every other row of plane ci.
func im2colHalve1[F Float](s ConvShape, x, cols []F, ld int) {
	ho, wo := s.OutSize()
	hw := s.H * s.W
	for ci := 0; ci < s.Cin; ci++ {
		xp, row := x[ci*hw:(ci+1)*hw], cols[ci*ld:ci*ld+ho*wo]
		for oy := 0; oy < ho; oy++ {
			r, src := row[oy*wo:(oy+1)*wo], xp[2*oy*s.W:(2*oy+1)*s.W]
			for ox := range r {
				r[ox] = src[2*ox]
			}
		}
	}
}

// col2imHalve1 is col2im for the colHalve1 convolutions, adjoint to im2colHalve1, with
// the general loop's bits (each picked value is added to a cleared plane).
func col2imHalve1[F Float](s ConvShape, cols []F, ld int, dx []F) {
	ho, wo := s.OutSize()
	hw := s.H * s.W
	for ci := 0; ci < s.Cin; ci++ {
		xp, row := dx[ci*hw:(ci+1)*hw], cols[ci*ld:ci*ld+ho*wo]
		clear(xp)
		for oy := 0; oy < ho; oy++ {
			r, dst := row[oy*wo:(oy+1)*wo], xp[2*oy*s.W:(2*oy+1)*s.W]
			for ox, v := range r {
				dst[2*ox] += v
			}
		}
	}
}

// col2imHalve3 is col2im for the colHalve3 convolutions, adjoint to im2colHalve3. Every
// input value receives its taps in col2im's order (ky, then kx), so the bits are those of
// the general loop.
func col2imHalve3[F Float](s ConvShape, cols []F, ld int, dx []F) {
	ho, wo := s.OutSize()
	hw := s.H * s.W
	for ci := 0; ci < s.Cin; ci++ {
		xp := dx[ci*hw : (ci+1)*hw]
		clear(xp)
		for ky := 0; ky < 3; ky++ {
			r0 := (ci*3 + ky) * 3 * ld
			left, mid, right := cols[r0:r0+ho*wo], cols[r0+ld:r0+ld+ho*wo], cols[r0+2*ld:r0+2*ld+ho*wo]
			for oy := 0; oy < ho; oy++ {
				iy := 2*oy + ky - 1
				if iy < 0 || iy >= s.H {
					continue
				}
				a, b, c := left[oy*wo:(oy+1)*wo], mid[oy*wo:(oy+1)*wo], right[oy*wo:(oy+1)*wo]
				dst := xp[iy*s.W : (iy+1)*s.W]
				for ox := range b {
					dst[2*ox] += b[ox]
					d := dst[2*ox+1]
					if ox+1 < wo {
						d += a[ox+1] // kx = 0 of the next output column
					}
					dst[2*ox+1] = d + c[ox]
				}
			}
		}
	}
}

// col2im sets dx (one sample) to the adjoint of im2col applied to cols (row r at
// cols[r·ld:]): each input plane is cleared (or, for same-size stride-1 convolutions,
// set to its centre tap) and then receives the sum of its taps, so dx need not be zeroed
// beforehand and each plane is still in cache while it is summed. cols is scratch: the
// same-size path clears its entries that fall in the padding.
func col2im[F Float](s ConvShape, cols []F, ld int, dx []F) {
	switch colLayoutOf(s) {
	case colSame:
		col2imSame(s, cols, ld, dx)
	case colHalve3:
		col2imHalve3(s, cols, ld, dx)
	case colHalve1:
		col2imHalve1(s, cols, ld, dx)
	default:
		col2imGeneral(s, cols, ld, dx)
	}
}

// col2imGeneral is col2im's loop for any shape.
func col2imGeneral[F Float](s ConvShape, cols []F, ld int, dx []F) {
	ho, wo := s.OutSize()
	for ci := 0; ci < s.Cin; ci++ {
		xp := dx[ci*s.H*s.W : (ci+1)*s.H*s.W]
		clear(xp)
		for ky := 0; ky < s.KH; ky++ {
			for kx := 0; kx < s.KW; kx++ {
				r0 := ((ci*s.KH+ky)*s.KW + kx) * ld
				row := cols[r0 : r0+ho*wo]
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

// sameTap describes kernel tap (ky, kx) of a stride-1 convolution whose output has the
// input's size (2·pad = K − 1): output pixel i of a plane reads input pixel i + delta,
// valid for output rows [y0, y1) and columns [x0, x1). Over the valid rows the tap is a
// single shifted copy of the plane, whose positions [a, b) map to input [a+delta,
// b+delta) inside the plane; what it gets wrong lies in the invalid columns.
type sameTap struct{ delta, y0, y1, x0, x1, a, b int }

func newSameTap(s ConvShape, ky, kx int) sameTap {
	dy, dxo := ky-s.Pad, kx-s.Pad
	t := sameTap{delta: dy*s.W + dxo, y0: min(max(0, -dy), s.H), y1: min(s.H, s.H-dy)}
	t.x0, t.x1 = validCols(s.W, 1, kx, s.Pad, s.W)
	t.x0, t.x1 = min(t.x0, s.W), min(t.x1, s.W)
	if t.y1 <= t.y0 { // no valid rows
		t.y1 = t.y0
		return t
	}
	t.a, t.b = t.y0*s.W, t.y1*s.W
	if t.a+t.delta < 0 {
		t.a = -t.delta
	}
	if t.b+t.delta > s.H*s.W {
		t.b = s.H*s.W - t.delta
	}
	if t.b < t.a {
		t.b = t.a
	}
	return t
}

// im2colSame is im2col for stride-1 convolutions whose output has the input's size
// (3×3 pad 1, …): each column-matrix row is one shifted copy of the input plane, with
// the padding rows and columns then cleared.
func im2colSame[F Float](s ConvShape, x, cols []F, ld int) {
	hw := s.H * s.W
	for ky := 0; ky < s.KH; ky++ {
		for kx := 0; kx < s.KW; kx++ {
			t := newSameTap(s, ky, kx)
			for ci := 0; ci < s.Cin; ci++ {
				xp := x[ci*hw : (ci+1)*hw]
				r0 := ((ci*s.KH+ky)*s.KW + kx) * ld
				row := cols[r0 : r0+hw]
				clear(row[:t.y0*s.W])
				clear(row[t.y1*s.W:])
				if t.a < t.b {
					copy(row[t.a:t.b], xp[t.a+t.delta:t.b+t.delta])
					clearCols(row, s.W, t)
				} else {
					clear(row[t.y0*s.W : t.y1*s.W])
				}
			}
		}
	}
}

// clearCols zeroes columns outside [t.x0, t.x1) in rows [t.y0, t.y1) of a plane-sized row.
func clearCols[F Float](row []F, w int, t sameTap) {
	switch {
	case t.x0 == 0 && t.x1 == w:
		return
	case t.x0 == 1 && t.x1 == w: // left column only (3×3 pad 1: kx = 0)
		for i := t.y0 * w; i < t.y1*w; i += w {
			row[i] = 0
		}
		return
	case t.x0 == 0 && t.x1 == w-1: // right column only
		for i := t.y0*w + w - 1; i < t.y1*w; i += w {
			row[i] = 0
		}
		return
	}
	for oy := t.y0; oy < t.y1; oy++ {
		r := row[oy*w : oy*w+w]
		for ox := 0; ox < t.x0; ox++ {
			r[ox] = 0
		}
		for ox := t.x1; ox < w; ox++ {
			r[ox] = 0
		}
	}
}

// col2imSame is col2im for the convolutions of im2colSame: the centre tap (delta 0,
// valid everywhere) is copied into each plane, and every other tap is added as one
// shifted axpy after its invalid columns are cleared in cols (scratch, so it may be
// overwritten), so that the shifted sum only moves zeros across row ends.
func col2imSame[F Float](s ConvShape, cols []F, ld int, dx []F) {
	hw := s.H * s.W
	taps := make([]sameTap, 0, 16)
	for ky := 0; ky < s.KH; ky++ {
		for kx := 0; kx < s.KW; kx++ {
			taps = append(taps, newSameTap(s, ky, kx))
		}
	}
	centre := s.Pad*s.KW + s.Pad
	for ci := 0; ci < s.Cin; ci++ {
		xp := dx[ci*hw : (ci+1)*hw]
		rc := (ci*s.KH*s.KW + centre) * ld
		copy(xp, cols[rc:rc+hw])
		for tp, t := range taps {
			if tp == centre || t.a == t.b || t.x0 == t.x1 {
				continue
			}
			r0 := (ci*s.KH*s.KW + tp) * ld
			row := cols[r0 : r0+hw]
			clearCols(row, s.W, t)
			axpy(1, row[t.a:t.b], xp[t.a+t.delta:t.b+t.delta])
		}
	}
}

// convGroupCols is the GEMM width (output pixels) that samples are grouped up to: below
// it a per-sample GEMM is too narrow for the 32-column micro-kernel and its packing, and
// the weight-gradient GEMM too short in k.
const convGroupCols = 512

// convGroup returns how many samples share one GEMM: enough for Ho·Wo·g to reach
// convGroupCols, but few enough to leave at least one group per worker.
func convGroup(n, howo int) int {
	g := min((convGroupCols+howo-1)/howo, n)
	if w := max(Workers, 1); n >= w {
		g = min(g, (n+w-1)/w)
	}
	return max(g, 1)
}

// conv2dForwardGemm computes y_n = W·im2col(x_n) + b. Samples are taken in groups of g
// (convGroup) whose column matrices sit side by side, [Cin·KH·KW, g·Ho·Wo], so that one
// GEMM serves the group; groups are spread over Workers.
func conv2dForwardGemm[F Float](s ConvShape, x, w, b, y []F) {
	ho, wo := s.OutSize()
	p := ho * wo
	k := s.Cin * s.KH * s.KW
	g := convGroup(s.N, p)
	groups := (s.N + g - 1) / g
	xs, ys := s.Cin*s.H*s.W, s.Cout*p
	Parallel(groups, 1, func(lo, hi int) {
		cols := getBuf[F](k * g * p)
		defer putBuf(cols)
		var out []F
		if g > 1 {
			out = getBuf[F](s.Cout * g * p)
			defer putBuf(out)
		}
		for gi := lo; gi < hi; gi++ {
			n0 := gi * g
			gn := min(g, s.N-n0) // samples in this group
			ld := gn * p
			for j := 0; j < gn; j++ {
				im2col(s, x[(n0+j)*xs:(n0+j+1)*xs], cols[j*p:], ld)
			}
			if gn == 1 {
				yn := y[n0*ys : (n0+1)*ys]
				gemmLocal(false, false, s.Cout, p, k, 1, w, k, cols, p, 0, yn, p)
				if b != nil {
					for co := 0; co < s.Cout; co++ {
						addConst(yn[co*p:(co+1)*p], b[co])
					}
				}
				continue
			}
			gemmLocal(false, false, s.Cout, ld, k, 1, w, k, cols, ld, 0, out, ld)
			for j := 0; j < gn; j++ {
				yn := y[(n0+j)*ys : (n0+j+1)*ys]
				for co := 0; co < s.Cout; co++ {
					r := yn[co*p : (co+1)*p]
					copy(r, out[co*ld+j*p:])
					if b != nil {
						addConst(r, b[co])
					}
				}
			}
		}
	})
}

// addConst adds c to every element of r, through Affine's SIMD loop: (v − 0)·1 + c has
// the bits of v + c (as Winograd's storeRows adds its bias).
func addConst[F Float](r []F, c F) { Affine(r, r, 0, 1, c) }

// conv2dBackwardGemm computes dW += Σ_n dy_n·im2col(x_n)ᵀ, db += Σ dy_n and
// dx_n = col2im(Wᵀ·dy_n), in the sample groups of conv2dForwardGemm: per group, dy is
// gathered into a [Cout, g·Ho·Wo] matrix, and each worker accumulates its dW and db parts
// in private buffers (dW written by its first GEMM with beta 0) that are added to dw and
// db at the end.
func conv2dBackwardGemm[F Float](s ConvShape, x, w, dy, dx, dw, db []F) {
	if dw == nil && dx == nil && db == nil {
		return
	}
	ho, wo := s.OutSize()
	p := ho * wo
	k := s.Cin * s.KH * s.KW
	g := convGroup(s.N, p)
	groups := (s.N + g - 1) / g
	xs, ys := s.Cin*s.H*s.W, s.Cout*p
	// With few output channels dW is computed transposed, [Cin·KH·KW, Cout], so that the
	// GEMM's rows are the long side (no ragged micro-kernel row tiles).
	dwT := s.Cout < dwTransposedBelow
	var mu sync.Mutex
	Parallel(groups, 1, func(lo, hi int) {
		var cols, dyg, dwLocal, dbLocal []F
		if dw != nil || dx != nil {
			cols = getBuf[F](k * g * p)
			defer putBuf(cols)
		}
		if g > 1 && (dw != nil || dx != nil) {
			dyg = getBuf[F](s.Cout * g * p)
			defer putBuf(dyg)
		}
		if dw != nil {
			dwLocal = getBuf[F](len(dw))
			defer putBuf(dwLocal)
		}
		if db != nil {
			dbLocal = make([]F, s.Cout)
		}
		var beta F // 0 for this worker's first dW GEMM: dwLocal is not cleared
		for gi := lo; gi < hi; gi++ {
			n0 := gi * g
			gn := min(g, s.N-n0)
			ld := gn * p
			for j := 0; j < gn && db != nil; j++ {
				yn := dy[(n0+j)*ys : (n0+j+1)*ys]
				for co := range dbLocal {
					dbLocal[co] += sumF(yn[co*p : (co+1)*p])
				}
			}
			if dw == nil && dx == nil {
				continue
			}
			d := dy[n0*ys : (n0+1)*ys]
			if gn > 1 {
				d = dyg
				for j := 0; j < gn; j++ {
					yn := dy[(n0+j)*ys : (n0+j+1)*ys]
					for co := 0; co < s.Cout; co++ {
						copy(dyg[co*ld+j*p:co*ld+(j+1)*p], yn[co*p:(co+1)*p])
					}
				}
			}
			if dw != nil {
				for j := 0; j < gn; j++ {
					im2col(s, x[(n0+j)*xs:(n0+j+1)*xs], cols[j*p:], ld)
				}
				if dwT {
					gemmLocal(false, true, k, s.Cout, ld, 1, cols, ld, d, ld, beta, dwLocal, s.Cout)
				} else {
					gemmLocal(false, true, s.Cout, k, ld, 1, d, ld, cols, ld, beta, dwLocal, k)
				}
				beta = 1
			}
			if dx != nil {
				gemmLocal(true, false, k, ld, s.Cout, 1, w, k, d, ld, 0, cols, ld)
				for j := 0; j < gn; j++ {
					col2im(s, cols[j*p:], ld, dx[(n0+j)*xs:(n0+j+1)*xs])
				}
			}
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case dw == nil || beta == 0:
		case dwT:
			addTransposed(dw, dwLocal, s.Cout, k)
		default:
			axpy(1, dwLocal, dw)
		}
		for co, v := range dbLocal {
			db[co] += v
		}
	})
}

// sumF is Σ v in four interleaved partial sums.
func sumF[F Float](v []F) F {
	var a0, a1, a2, a3 F
	i := 0
	for ; i+4 <= len(v); i += 4 {
		a0 += v[i]
		a1 += v[i+1]
		a2 += v[i+2]
		a3 += v[i+3]
	}
	for ; i < len(v); i++ {
		a0 += v[i]
	}
	return (a0 + a1) + (a2 + a3)
}

// dwTransposedBelow is the output-channel count below which conv2dBackwardGemm computes
// the weight gradient transposed.
const dwTransposedBelow = 256

// addTransposed adds tᵀ to a: a[i·n+j] += t[j·m+i] for a [m, n], in 16-column blocks so
// that both sides stay in cache.
func addTransposed[F Float](a, t []F, m, n int) {
	for j0 := 0; j0 < n; j0 += 16 {
		j1 := min(j0+16, n)
		for i := 0; i < m; i++ {
			row := a[i*n+j0 : i*n+j1]
			for j := range row {
				row[j] += t[(j0+j)*m+i]
			}
		}
	}
}
