package tensor

import (
	"slices"
	"sync"
)

// Winograd convolution F(m×m, 3×3) (Lavin & Gray 2016) for stride-1 3×3 float32
// convolutions, m = 4 (6×6 input tiles, 36 products) or m = 2 (4×4 tiles, 16 products).
//
// Data path of the forward pass, per block of tb tiles (tiles numbered across the whole
// batch, so small images still fill a block): the input is copied once into zero-padded
// planes; 16 tiles at a time are gathered (one float32 lane per tile) and transformed,
// V = Bᵀ·d·B, into the blocked layout V[ξ][ci][t] (ξ < a² the Winograd point, t the
// tile in the block); the a² element-wise products over channels are a² SGEMMs
// M[ξ] = U[ξ]·V[ξ] ([Cout, Cin]·[Cin, tb]) on the packed micro-kernels (gemmLocal),
// with U = G·g·Gᵀ transformed once per call; Y = Aᵀ·M·A is scattered back, 16 tiles at
// a time. The input gradient is the same computation on dy with the flipped, transposed
// kernel (padding 2 − pad); the weight gradient transforms x (V) and dy
// (D = A·dy·Aᵀ), accumulates dU[ξ] += D[ξ]·V[ξ]ᵀ over blocks and returns
// dw = Gᵀ·dU·G.

// winoMats holds the transform matrices of F(m, 3) in winoLin's column-major 6-row form.
type winoMats struct {
	m, a int
	bt   []float32 // Bᵀ, a×a
	at   []float32 // Aᵀ, m×a
	aa   []float32 // A, a×m
	g    [][3]float64
}

// colMajor6 writes the r×k row-major matrix rows into winoLin's layout.
func colMajor6(rows [][]float64) []float32 {
	k := len(rows[0])
	lc := make([]float32, 6*k)
	for q, row := range rows {
		for p, v := range row {
			lc[p*6+q] = float32(v)
		}
	}
	return lc
}

func transpose(rows [][]float64) [][]float64 {
	t := make([][]float64, len(rows[0]))
	for j := range t {
		t[j] = make([]float64, len(rows))
		for i := range rows {
			t[j][i] = rows[i][j]
		}
	}
	return t
}

func newWinoMats(m int, bt, at [][]float64, g [][3]float64) *winoMats {
	return &winoMats{m: m, a: m + 2, bt: colMajor6(bt), at: colMajor6(at), aa: colMajor6(transpose(at)), g: g}
}

var (
	// F(4×4, 3×3) with the interpolation points 0, ±1, ±2, ∞.
	winoF4 = newWinoMats(4,
		[][]float64{
			{4, 0, -5, 0, 1, 0},
			{0, -4, -4, 1, 1, 0},
			{0, 4, -4, -1, 1, 0},
			{0, -2, -1, 2, 1, 0},
			{0, 2, -1, -2, 1, 0},
			{0, 4, 0, -5, 0, 1},
		},
		[][]float64{
			{1, 1, 1, 1, 1, 0},
			{0, 1, -1, 2, -2, 0},
			{0, 1, 1, 4, 4, 0},
			{0, 1, -1, 8, -8, 1},
		},
		[][3]float64{
			{1.0 / 4, 0, 0},
			{-1.0 / 6, -1.0 / 6, -1.0 / 6},
			{-1.0 / 6, 1.0 / 6, -1.0 / 6},
			{1.0 / 24, 1.0 / 12, 1.0 / 6},
			{1.0 / 24, -1.0 / 12, 1.0 / 6},
			{0, 0, 1},
		})
	// F(2×2, 3×3) with the points 0, ±1, ∞.
	winoF2 = newWinoMats(2,
		[][]float64{
			{1, 0, -1, 0},
			{0, 1, 1, 0},
			{0, -1, 1, 0},
			{0, 1, 0, -1},
		},
		[][]float64{
			{1, 1, 1, 0},
			{0, 1, -1, -1},
		},
		[][3]float64{
			{1, 0, 0},
			{0.5, 0.5, 0.5},
			{0.5, -0.5, 0.5},
			{0, 0, 1},
		})
)

// winoPlan is the tiling of one convolution shape for F(m, 3).
type winoPlan struct {
	s       *winoMats
	cin     int
	cout    int
	n       int
	pad     int
	h, w    int // input plane
	ho, wo  int // output plane
	th, tw  int // tiles down and across
	hp, wp  int // zero-padded input plane
	oh, ow  int // output plane the tiles are scattered to (ho×wo when m divides both)
	tiles   int // tiles of the batch
	tb      int // tiles per block, a multiple of 16
	aligned bool
}

// winoEligible reports whether Winograd can run the shape: stride-1 3×3 with padding
// 0 or 1 and at least 16 input and output channels.
func winoEligible(s ConvShape) bool {
	return s.KH == 3 && s.KW == 3 && s.Stride == 1 && s.Pad <= 1 && s.Cin >= 16 && s.Cout >= 16
}

// winoBlockFloats bounds the transformed input of one block (a²·Cin·tb floats), so that
// a block's V and M stay near the L2 cache.
const winoBlockFloats = 1 << 18

func newWinoPlan(mats *winoMats, n, cin, h, w, cout, pad int) *winoPlan {
	m, a := mats.m, mats.a
	p := &winoPlan{s: mats, cin: cin, cout: cout, n: n, pad: pad, h: h, w: w}
	p.ho, p.wo = h+2*pad-2, w+2*pad-2
	p.th, p.tw = (p.ho+m-1)/m, (p.wo+m-1)/m
	p.hp, p.wp = p.th*m+2, p.tw*m+2
	p.aligned = p.ho%m == 0 && p.wo%m == 0
	p.oh, p.ow = p.ho, p.wo
	if !p.aligned {
		p.oh, p.ow = p.th*m, p.tw*m
	}
	p.tiles = n * p.th * p.tw
	tb := winoBlockFloats / (a * a * max(cin, cout)) / 16 * 16
	tb = min(max(tb, 32), 256)
	p.tb = min(tb, (p.tiles+15)&^15)
	return p
}

// padInput copies x [n, c, h, w] into zero-padded planes [n, c, hp, wp] (offset pad).
func (p *winoPlan) padInput(x []float32, c int) []float32 {
	plane := p.hp * p.wp
	xp := getBuf[float32](p.n * c * plane)[:p.n*c*plane]
	Parallel(p.n*c, 1, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			dst := xp[k*plane : (k+1)*plane]
			src := x[k*p.h*p.w : (k+1)*p.h*p.w]
			clear(dst)
			for iy := 0; iy < p.h; iy++ {
				copy(dst[(iy+p.pad)*p.wp+p.pad:], src[iy*p.w:(iy+1)*p.w])
			}
		}
	})
	return xp
}

// tileIndex fills in and out with the offsets of tiles t0 … t0+n−1 in the padded input
// (c channels) and in the output planes (co channels).
func (p *winoPlan) tileIndex(t0, n, c, co int, in, out *[16]int32) {
	m := p.s.m
	per := p.th * p.tw
	for l := 0; l < n; l++ {
		t := t0 + l
		img, r := t/per, t%per
		ty, tx := r/p.tw, r%p.tw
		in[l] = int32(img*c*p.hp*p.wp + ty*m*p.wp + tx*m)
		out[l] = int32(img*co*p.oh*p.ow + ty*m*p.ow + tx*m)
	}
}

// weightTransform returns U[ξ][o][i] = (G·g·Gᵀ)[ξ] of w [o, i, 3, 3].
func (p *winoPlan) weightTransform(w []float32, o, i int) []float32 {
	a := p.s.a
	u := make([]float32, a*a*o*i)
	Parallel(o, 1, func(lo, hi int) {
		var tmp [6][3]float64
		for co := lo; co < hi; co++ {
			for ci := 0; ci < i; ci++ {
				g := w[(co*i+ci)*9 : (co*i+ci+1)*9]
				for r := 0; r < a; r++ {
					gr := p.s.g[r]
					for kx := 0; kx < 3; kx++ {
						tmp[r][kx] = gr[0]*float64(g[kx]) + gr[1]*float64(g[3+kx]) + gr[2]*float64(g[6+kx])
					}
				}
				for r := 0; r < a; r++ {
					for q := 0; q < a; q++ {
						gq := p.s.g[q]
						v := tmp[r][0]*gq[0] + tmp[r][1]*gq[1] + tmp[r][2]*gq[2]
						u[((r*a+q)*o+co)*i+ci] = float32(v)
					}
				}
			}
		}
	})
	return u
}

// winoScratch is a worker's per-group buffers: a gathered patch and a half-transformed one.
type winoScratch struct {
	patch, half, tile [36 * 16]float32
}

// inputTransform writes V[ξ][ci][t−t0] = (Bᵀ·d·B)[ξ] for tiles t0 … t0+nt−1 of the
// padded input xp (c channels), V with row length tb.
func (p *winoPlan) inputTransform(xp []float32, c, t0, nt int, v []float32, sc *winoScratch) {
	a, plane := p.s.a, p.hp*p.wp
	ds := c * p.tb
	var in, out [16]int32
	for g := 0; g < nt; g += 16 {
		lanes := min(16, nt-g)
		p.tileIndex(t0+g, lanes, c, 0, &in, &out)
		for ci := 0; ci < c; ci++ {
			winoGather(sc.patch[:], xp[ci*plane:], &in, a, a, p.wp, 1, lanes)
			winoLin(p.s.bt, a, a, sc.patch[:], 16, a*16, sc.half[:], 16, a*16, a)
			winoLin(p.s.bt, a, a, sc.half[:], a*16, 16, v[ci*p.tb+g:], a*ds, ds, a)
		}
	}
}

// outputTransform scatters Y = Aᵀ·M·A of tiles t0 … t0+nt−1 (M[ξ][co][t−t0], co < c)
// into the output planes y ([n, c, oh, ow]).
func (p *winoPlan) outputTransform(mm []float32, c, t0, nt int, y []float32, sc *winoScratch) {
	m, a, plane := p.s.m, p.s.a, p.oh*p.ow
	ds := c * p.tb
	var in, out [16]int32
	for g := 0; g < nt; g += 16 {
		lanes := min(16, nt-g)
		p.tileIndex(t0+g, lanes, 0, c, &in, &out)
		for co := 0; co < c; co++ {
			winoLin(p.s.at, a, m, mm[co*p.tb+g:], ds, a*ds, sc.half[:], 16, m*16, a)
			winoLin(p.s.at, a, m, sc.half[:], m*16, 16, sc.tile[:], m*16, 16, m)
			winoScatter(y[co*plane:], &out, sc.tile[:], m, m, p.ow, 1, lanes)
		}
	}
}

// gradTransform writes D[ξ][co][t−t0] = (A·dy·Aᵀ)[ξ] for tiles t0 … t0+nt−1 of the
// output-gradient planes dyp ([n, c, oh, ow], zero outside ho×wo).
func (p *winoPlan) gradTransform(dyp []float32, c, t0, nt int, d []float32, sc *winoScratch) {
	m, a, plane := p.s.m, p.s.a, p.oh*p.ow
	ds := c * p.tb
	var in, out [16]int32
	for g := 0; g < nt; g += 16 {
		lanes := min(16, nt-g)
		p.tileIndex(t0+g, lanes, 0, c, &in, &out)
		for co := 0; co < c; co++ {
			winoGather(sc.patch[:], dyp[co*plane:], &out, m, m, p.ow, 1, lanes)
			winoLin(p.s.aa, m, a, sc.patch[:], 16, m*16, sc.half[:], 16, a*16, m)
			winoLin(p.s.aa, m, a, sc.half[:], a*16, 16, d[co*p.tb+g:], a*ds, ds, a)
		}
	}
}

// blocks returns the number of tile blocks.
func (p *winoPlan) blocks() int { return (p.tiles + p.tb - 1) / p.tb }

// forward computes y = conv(x, w) + b with w [cout, cin, 3, 3] (or, for the input
// gradient, the weights already given as U by u ≠ nil).
func (p *winoPlan) forward(x, w, b, y []float32) {
	u := p.weightTransform(w, p.cout, p.cin)
	p.forwardU(x, u, b, y)
}

func (p *winoPlan) forwardU(x, u, b, y []float32) {
	a := p.s.a
	xp := p.padInput(x, p.cin)
	defer putBuf(xp)
	yt := y
	if !p.aligned {
		yt = getBuf[float32](p.n * p.cout * p.oh * p.ow)
		defer putBuf(yt)
	}
	Parallel(p.blocks(), 1, func(lo, hi int) {
		v := getBuf[float32](a * a * p.cin * p.tb)
		mm := getBuf[float32](a * a * p.cout * p.tb)
		sc := new(winoScratch)
		defer putBuf(v)
		defer putBuf(mm)
		for blk := lo; blk < hi; blk++ {
			t0 := blk * p.tb
			nt := min(p.tb, p.tiles-t0)
			p.inputTransform(xp, p.cin, t0, nt, v, sc)
			cols := (nt + 15) &^ 15
			for xi := 0; xi < a*a; xi++ {
				gemmLocal(false, false, p.cout, cols, p.cin, 1, u[xi*p.cout*p.cin:], p.cin,
					v[xi*p.cin*p.tb:], p.tb, 0, mm[xi*p.cout*p.tb:], p.tb)
			}
			p.outputTransform(mm, p.cout, t0, nt, yt, sc)
		}
	})
	hw := p.ho * p.wo
	if p.aligned && b == nil {
		return
	}
	Parallel(p.n*p.cout, 1, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			dst := y[k*hw : (k+1)*hw]
			if !p.aligned {
				src := yt[k*p.oh*p.ow:]
				for oy := 0; oy < p.ho; oy++ {
					copy(dst[oy*p.wo:(oy+1)*p.wo], src[oy*p.ow:])
				}
			}
			if b != nil {
				addConst(dst, b[k%p.cout])
			}
		}
	})
}

// inputGrad sets dx to the gradient of conv(x, w) from dy: the plan p is the one of
// the flipped convolution (dy as input, padding 2 − pad, cin = Cout, cout = Cin).
func (p *winoPlan) inputGrad(w, dy, dx []float32) {
	// Flipped, transposed weights w'[ci][co][ky][kx] = w[co][ci][2−ky][2−kx].
	cin, cout := p.cout, p.cin // of the original convolution
	wf := getBuf[float32](len(w))[:len(w)]
	defer putBuf(wf)
	for co := 0; co < cout; co++ {
		for ci := 0; ci < cin; ci++ {
			src := w[(co*cin+ci)*9 : (co*cin+ci+1)*9]
			dst := wf[(ci*cout+co)*9 : (ci*cout+co+1)*9]
			for t := 0; t < 9; t++ {
				dst[t] = src[8-t]
			}
		}
	}
	p.forward(dy, wf, nil, dx)
}

// weightGrad adds to dw the weight gradient of conv(x, w) from dy.
func (p *winoPlan) weightGrad(x, dy, dw []float32) {
	a := p.s.a
	xp := p.padInput(x, p.cin)
	defer putBuf(xp)
	dyp := dy
	if !p.aligned {
		plane := p.oh * p.ow
		dyp = getBuf[float32](p.n * p.cout * plane)[:p.n*p.cout*plane]
		defer putBuf(dyp)
		Parallel(p.n*p.cout, 1, func(lo, hi int) {
			for k := lo; k < hi; k++ {
				dst := dyp[k*plane : (k+1)*plane]
				clear(dst)
				for oy := 0; oy < p.ho; oy++ {
					copy(dst[oy*p.ow:], dy[(k*p.ho+oy)*p.wo:(k*p.ho+oy+1)*p.wo])
				}
			}
		})
	}
	nu := a * a * p.cout * p.cin
	type part struct {
		lo int
		du []float32
	}
	var mu sync.Mutex
	var parts []part
	Parallel(p.blocks(), 1, func(lo, hi int) {
		v := getBuf[float32](a * a * p.cin * p.tb)
		d := getBuf[float32](a * a * p.cout * p.tb)
		du := make([]float32, nu)
		sc := new(winoScratch)
		defer putBuf(v)
		defer putBuf(d)
		var beta float32
		for blk := lo; blk < hi; blk++ {
			t0 := blk * p.tb
			nt := min(p.tb, p.tiles-t0)
			cols := (nt + 15) &^ 15
			p.inputTransform(xp, p.cin, t0, nt, v, sc)
			p.gradTransform(dyp, p.cout, t0, nt, d, sc)
			for xi := 0; xi < a*a; xi++ {
				gemmLocal(false, true, p.cout, p.cin, cols, 1, d[xi*p.cout*p.tb:], p.tb,
					v[xi*p.cin*p.tb:], p.tb, beta, du[xi*p.cout*p.cin:], p.cin)
			}
			beta = 1
		}
		mu.Lock()
		parts = append(parts, part{lo, du})
		mu.Unlock()
	})
	// A fixed summation order: the same inputs give the same bits.
	slices.SortFunc(parts, func(x, y part) int { return x.lo - y.lo })
	du := parts[0].du
	for _, pt := range parts[1:] {
		axpy(1, pt.du, du)
	}
	// dw[co][ci] += Gᵀ·dU·G.
	Parallel(p.cout, 1, func(lo, hi int) {
		var tmp [6][3]float64
		for co := lo; co < hi; co++ {
			for ci := 0; ci < p.cin; ci++ {
				for r := 0; r < a; r++ {
					tmp[r] = [3]float64{}
					for q := 0; q < a; q++ {
						v := float64(du[((r*a+q)*p.cout+co)*p.cin+ci])
						gq := p.s.g[q]
						tmp[r][0] += v * gq[0]
						tmp[r][1] += v * gq[1]
						tmp[r][2] += v * gq[2]
					}
				}
				out := dw[(co*p.cin+ci)*9 : (co*p.cin+ci+1)*9]
				for ky := 0; ky < 3; ky++ {
					for kx := 0; kx < 3; kx++ {
						var s float64
						for r := 0; r < a; r++ {
							s += p.s.g[r][ky] * tmp[r][kx]
						}
						out[ky*3+kx] += float32(s)
					}
				}
			}
		}
	})
}
