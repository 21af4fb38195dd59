package tensor

import (
	"slices"
	"sync"
)

// winoLanes is the number of channels a transform handles at once (one AVX-512 vector,
// two AVX2 vectors).
const winoLanes = 16

// Winograd convolution F(m×m, 3×3) (Lavin & Gray 2016) for stride-1 3×3 float32
// convolutions, m = 4 (6×6 input tiles, 36 products) or m = 2 (4×4 tiles, 16 products).
//
// The transforms work on 16 channels at a time, one float32 lane per channel (one ZMM or
// two YMM registers), so every load and store is a contiguous vector: no gathers or scatters (slow on the AMD and
// Intel cores we run on). Data path of the forward pass, per block of tile rows
// (consecutive across the batch, so small images still fill a block):
//
//  1. For one tile row and one group of 16 channels, the a input rows it covers are
//     transposed from NCHW into a channels-last strip P[k][x][c16] (16×16 register
//     transposes; zeros for the padding).
//  2. V = Bᵀ·d·B, separably: Bᵀ down the strip's a rows for every column at once, then
//     Bᵀ across each tile's a columns, written to V[ξ][t][ci] (ξ < a² the Winograd
//     point, t the tile in the block, ci contiguous).
//  3. The a² element-wise products over channels are a² SGEMMs on the packed
//     micro-kernels: M[ξ] = V[ξ]·U[ξ] ([tiles, Cin]·[Cin, Cout]), U = G·g·Gᵀ computed
//     once per call.
//  4. Y = Aᵀ·M·A per tile and 16 output channels into a channels-last output strip, which
//     is transposed back into the NCHW output.
//
// Channel counts are padded to multiples of 16 inside (zero rows of U and V). The input
// gradient is the same computation on dy with the flipped, transposed kernel (padding
// 2 − pad); the weight gradient transforms x (V) and dy (D = A·dy·Aᵀ, the same strips
// with the a×m matrix A), accumulates dU[ξ] += D[ξ]ᵀ·V[ξ] over blocks and returns
// dw = Gᵀ·dU·G.

// winoMat is one transform matrix, r×k (r, k ≤ 6), in winoLin's column-major 6-row
// form, with the AVX-512 kernel generated for it (nil in builds without one).
type winoMat struct {
	lc   []float32
	k, r int
	simd func(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)
}

// winoMats holds the transform matrices of F(m, 3).
type winoMats struct {
	m, a int
	bt   *winoMat // Bᵀ, a×a
	at   *winoMat // Aᵀ, m×a
	aa   *winoMat // A, a×m
	gm   *winoMat // G, a×3
	gt   *winoMat // Gᵀ, 3×a
}

// newWinoMat writes the r×k row-major matrix rows into winoLin's layout.
func newWinoMat(rows [][]float64) *winoMat {
	k := len(rows[0])
	lc := make([]float32, 6*k)
	for q, row := range rows {
		for p, v := range row {
			lc[p*6+q] = float32(v)
		}
	}
	return &winoMat{lc: lc, k: k, r: len(rows)}
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
	rows := make([][]float64, len(g))
	for i := range g {
		rows[i] = g[i][:]
	}
	return &winoMats{m: m, a: m + 2, bt: newWinoMat(bt), at: newWinoMat(at), aa: newWinoMat(transpose(at)),
		gm: newWinoMat(rows), gt: newWinoMat(transpose(rows))}
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
	s          *winoMats
	cin, cout  int // channels
	cinp, coup int // channels rounded up to multiples of winoLanes
	n, pad     int
	h, w       int // input plane
	ho, wo     int // output plane
	th, tw     int // tiles down and across
	wp         int // columns of a channels-last strip: tw·m + 2
	rows       int // tile rows of the batch: n·th
	rb         int // tile rows per block
	tb         int // tiles per block: rb·tw
	tbr        int // tb rounded up to whole 14-row tiles of the product kernel
	mld        int // row length of the products M: coup rounded up to 32 columns
	dr, dc     int // rows and columns of dU[ξ]: coup and cinp in whole 14×32 kernel tiles
	gradRows   int // tile rows per chunk of weightGradByPoint
	byBlock    bool
	// Strides of one Winograd point, in floats: in a block's V, M and D (the weight
	// gradient's dy transform), in U and in dU. Each is skewed to an odd number of cache
	// lines (skewPoint).
	vx, mx, ddx, ux, dux int
}

// winoEligible reports whether Winograd can run the shape: stride-1 3×3 with padding
// 0 or 1 and at least 16 input and output channels.
func winoEligible(s ConvShape) bool {
	return s.KH == 3 && s.KW == 3 && s.Stride == 1 && s.Pad <= 1 && s.Cin >= 16 && s.Cout >= 16
}

// winoBlockFloats bounds the transformed input of one block (a²·Cin·tb floats), so that
// a block's V and M stay near the L2 cache.
const winoBlockFloats = 1 << 20

func newWinoPlan(mats *winoMats, n, cin, h, w, cout, pad int) *winoPlan {
	m, a := mats.m, mats.a
	p := &winoPlan{s: mats, cin: cin, cout: cout, cinp: roundUp(cin, winoLanes), coup: roundUp(cout, winoLanes), n: n, pad: pad, h: h, w: w}
	p.ho, p.wo = h+2*pad-2, w+2*pad-2
	p.th, p.tw = (p.ho+m-1)/m, (p.wo+m-1)/m
	p.wp = p.tw*m + 2
	p.rows = n * p.th
	tb := winoBlockFloats / (a * a * max(p.cinp, p.coup))
	tb = min(max(tb, 14), 256)
	p.rb = min(max(tb/p.tw, 1), p.rows)
	p.tb = p.rb * p.tw
	p.tbr = roundUp(p.tb, winoTileRows)
	p.mld = roundUp(p.coup, winoTileCols)
	p.dr, p.dc = roundUp(p.coup, winoTileRows), roundUp(p.cinp, winoTileCols)
	p.gradRows = min(max(winoGradChunkFloats/(a*a*p.tw*(p.cinp+p.coup)), 1), p.rows)
	p.byBlock = a*a*p.dr*p.dc <= 1<<18 && p.gradRows < p.rows
	p.vx, p.mx, p.ddx = skewPoint(p.tbr*p.cinp), skewPoint(p.tbr*p.mld), skewPoint(p.tbr*p.coup)
	p.ux, p.dux = skewPoint(p.mld*p.cinp), skewPoint(p.dr*p.dc)
	return p
}

// skewPoint returns the stride of one Winograd point for n floats (a multiple of 16):
// n rounded up to an odd number of 64-byte cache lines. The transforms read or write all
// a² points of a tile at once; at strides of whole pages (ResNet-18's 4×4 maps: U points
// 1 MiB apart) those 36 streams share one set of the L1 and L2 caches and evict each
// other. The strides change no value: the same products and sums run on the same data.
func skewPoint(n int) int {
	if n/16%2 == 0 {
		n += 16
	}
	return n
}

// blocks returns how many blocks n tile rows go in: at most rb rows each, and a multiple
// of Workers where there are enough rows, so that Parallel hands every worker the same
// number of rows. (Blocks of rb rows and a short last one left a worker idle for up to
// half of the 16×16, 8×8 and 4×4 layers of ResNet-18.)
func (p *winoPlan) blocks(n int) int {
	nb := (n + p.rb - 1) / p.rb
	return min(roundUp(nb, max(Workers, 1)), n)
}

// blockRows returns the tile rows g0 … g1−1 of block i when the n rows from r0 go in nb
// blocks: their sizes differ by at most one row.
func blockRows(r0, n, nb, i int) (g0, g1 int) { return r0 + n*i/nb, r0 + n*(i+1)/nb }

// transposeStrip sets dst[q·stride + r] = src[r·ld + q] for q < kb, r < rows, and 0 for
// rows ≤ r < lanes: register transposes for whole groups of 16 q (AVX-512) or 8 q (AVX2)
// when the SIMD kernels are on, plain loops for the rest.
func transposeStrip(dst []float32, stride int, src []float32, ld, kb, rows, lanes int) {
	q0 := 0
	if step := winoTransposeStep(); winoSIMD && kb >= step && rows > 0 {
		q0 = kb &^ (step - 1)
		_ = dst[(q0-1)*stride+lanes-1]
		_ = src[(rows-1)*ld+q0-1]
		winoTransposeSIMD(&dst[0], &src[0], ld, q0, rows, stride, lanes)
	}
	transposeLoop(dst, stride, src, ld, q0, kb, 0, lanes, rows)
}

// transposeLoop is the plain loop of transposeStrip (and of the AVX2 B packing's tail)
// for q0 ≤ q < q1 and lanes r0 ≤ r < r1:
// dst[q·stride + r] = src[r·ld + q] for r < rows, 0 above.
func transposeLoop(dst []float32, stride int, src []float32, ld, q0, q1, r0, r1, rows int) {
	for q := q0; q < q1; q++ {
		d := dst[q*stride : q*stride+r1]
		for r := r0; r < r1; r++ {
			if r < rows {
				d[r] = src[r*ld+q]
			} else {
				d[r] = 0
			}
		}
	}
}

// loadStrip fills the channels-last strip st[k][x][c16] (k < nrows, x < p.wp) with
// channels c0 … c0+15 of image img of the NCHW tensor src ([n, c, hh, ww]): strip row k
// is src row y0+k, strip column x is src column x−off; zeros outside src and for
// channels ≥ c.
func (p *winoPlan) loadStrip(st, src []float32, img, c, hh, ww, c0, y0, off, nrows int) {
	const l = winoLanes
	chans := min(l, c-c0)
	row := p.wp * l
	plane := src[(img*c+c0)*hh*ww:]
	// Rows narrower than 16 (8×8 and 4×4 planes): 16/ww whole rows are 16 contiguous
	// floats, transposed at once and copied out position by position.
	group := 0
	if winoSIMD && ww < l && l%ww == 0 {
		group = l / ww
	}
	var tmp [l * l]float32
	lo := -1 // plane rows lo … lo+group−1 are transposed in tmp
	for k := 0; k < nrows; k++ {
		d := st[k*row : (k+1)*row]
		y := y0 + k
		if y < 0 || y >= hh {
			clear(d)
			continue
		}
		clear(d[:off*l])
		clear(d[(off+ww)*l:])
		if group > 0 && (lo < 0 || y >= lo+group) && y+group <= hh {
			transposeStrip(tmp[:], l, plane[y*ww:], hh*ww, l, chans, l)
			lo = y
		}
		if group > 0 && lo >= 0 && y < lo+group {
			copy(d[off*l:(off+ww)*l], tmp[(y-lo)*ww*l:])
			continue
		}
		transposeStrip(d[off*l:], l, plane[y*ww:], hh*ww, ww, chans, l)
	}
}

// tileRow returns the image and tile row of the batch's tile row g.
func (p *winoPlan) tileRow(g int) (img, ty int) { return g / p.th, g % p.th }

// transformRows writes the transform of the tile rows g0 … g1−1 of src (NCHW, c
// channels, hh×ww planes) into v[ξ·xi + t·cp + ci] (t counted from g0's first tile,
// ci < roundUp(c, winoLanes)): the strips start at row ty·m − off and column −off, hold k rows,
// and mat (a×k) is applied down and across.
func (p *winoPlan) transformRows(v []float32, cp, xi int, src []float32, c, hh, ww, off int, mat *winoMat, g0, g1 int, st, half []float32) {
	const l = winoLanes
	m, k := p.s.m, mat.k
	for g := g0; g < g1; g++ {
		img, ty := p.tileRow(g)
		t0 := (g - g0) * p.tw
		for c0 := 0; c0 < roundUp(c, l); c0 += l {
			p.loadStrip(st, src, img, c, hh, ww, c0, ty*m-off, off, k)
			// down: half[i][x] = Σ_k mat[i][k]·st[k][x], for all columns at once
			winoLin(mat, st, p.wp*l, l, half, p.wp*l, l, p.wp)
			// across: v[i·a+j][t][c0:] = Σ_k mat[j][k]·half[i][tx·m+k]
			for tx := 0; tx < p.tw; tx++ {
				winoLin(mat, half[tx*m*l:], l, p.wp*l, v[(t0+tx)*cp+c0:], xi, mat.r*xi, mat.r)
			}
		}
	}
}

// weightTransform returns U = G·g·Gᵀ of w [p.cout, p.cin, 3, 3] packed as the product
// kernel's B panels: U[ξ][jp][ci][j] for output channel jp·32 + j, zero for the padding
// (ci ≥ cin, co ≥ cout). Sixteen output channels at a time: their weights are
// transposed so that each tap is one vector, and G is applied down and across. Release
// the result with putBuf.
func (p *winoPlan) weightTransform(w []float32) []float32 {
	const l = winoLanes
	a, o, i := p.s.a, p.cout, p.cin
	panel := p.cinp * winoTileCols
	xi := p.ux // stride of one Winograd point in U
	u := getBuf[float32](a * a * xi)
	Parallel(p.mld/l, 1, func(lo, hi int) {
		wt := getBuf[float32](i * 9 * l) // [ci][tap][16 output channels]
		defer putBuf(wt)
		var half [6 * 3 * l]float32
		for grp := lo; grp < hi; grp++ {
			c0 := grp * l
			at := c0/winoTileCols*panel + c0%winoTileCols // U offset of (ξ 0, ci 0, co c0)
			for ci := 0; ci < p.cinp; ci++ {
				if c0 < o && ci < i {
					continue
				}
				for x := 0; x < a*a; x++ {
					clear(u[x*xi+at+ci*winoTileCols:][:l])
				}
			}
			if c0 >= o {
				continue
			}
			transposeStrip(wt, l, w[c0*i*9:], i*9, i*9, min(l, o-c0), l)
			for ci := 0; ci < i; ci++ {
				// down: half[r][kx] = Σ_ky G[r][ky]·g[ky][kx]; across: U[r·a+q] = Σ_kx G[q][kx]·half[r][kx]
				winoLin(p.s.gm, wt[ci*9*l:], 3*l, l, half[:], 3*l, l, 3)
				winoLin(p.s.gm, half[:], l, 3*l, u[at+ci*winoTileCols:], xi, a*xi, a)
			}
		}
	})
	return u
}

// winoWork is one worker's buffers.
type winoWork struct {
	st, half []float32 // a channels-last strip and its half transform
	v, mm    []float32 // transformed input and products (or dy transform), [ξ][t][c]
	out      []float32 // channels-last output strip, [m][tw·m][coup]
	cm       []float32 // channel-major output rows of one channel group, [16][m·wo]
	tile     [6 * 6 * winoLanes]float32
}

func (p *winoPlan) newWork(mm, out bool) *winoWork {
	a, l := p.s.a, winoLanes
	// V and M (or D) have slack at the end: the product kernels read whole 14×32 tiles.
	wk := &winoWork{st: getBuf[float32](a * p.wp * l), half: getBuf[float32](a * p.wp * l), v: getBuf[float32](a*a*p.vx + winoTileCols)}
	if mm {
		wk.mm = getBuf[float32](a*a*max(p.mx, p.ddx) + winoTileCols)
	}
	if out {
		wk.out = getBuf[float32](p.s.m * p.tw * p.s.m * p.coup)
		wk.cm = getBuf[float32](winoLanes * p.s.m * p.wo)
	}
	return wk
}

func (wk *winoWork) free() {
	for _, b := range [][]float32{wk.st, wk.half, wk.v, wk.mm, wk.out, wk.cm} {
		if b != nil {
			putBuf(b)
		}
	}
}

// storeRows writes Y = Aᵀ·M·A of the block's tile rows g0 … g1−1 (M = wk.mm) into y
// ([n, cout, ho, wo]) plus the bias b of each output channel (if b is not nil), or with
// add set (and b nil) adds it to y.
func (p *winoPlan) storeRows(y []float32, g0, g1 int, wk *winoWork, add bool, b []float32) {
	const l = winoLanes
	m, a := p.s.m, p.s.a
	xi := p.mx
	orow := p.tw * m * p.coup // one row of the output strip
	plane := p.ho * p.wo
	for g := g0; g < g1; g++ {
		img, ty := p.tileRow(g)
		t0 := (g - g0) * p.tw
		for tx := 0; tx < p.tw; tx++ {
			for c0 := 0; c0 < p.coup; c0 += l {
				// down: tile[q][j] = Σ_i Aᵀ[q][i]·M[i·a+j]
				winoLin(p.s.at, wk.mm[(t0+tx)*p.mld+c0:], a*xi, xi, wk.tile[:], a*l, l, a)
				// across: out[q][tx·m+r][c0:] = Σ_j Aᵀ[r][j]·tile[q][j]
				winoLin(p.s.at, wk.tile[:], l, a*l, wk.out[tx*m*p.coup+c0:], p.coup, orow, m)
			}
		}
		// Through a channel-major buffer: sixteen 16×16 transposes into it, then one
		// contiguous copy of the tile row's nq output rows per channel. Transposing
		// straight into y would store into 16 planes at once, 4 KiB apart for 32×32
		// maps, which alias in the L1 cache.
		nq := min(m, p.ho-ty*m)
		run := nq * p.wo // one channel's output rows of this tile row, contiguous in y
		for c0 := 0; c0 < p.cout; c0 += l {
			chans := min(l, p.cout-c0)
			for q := 0; q < nq; q++ {
				src := wk.out[q*orow:]
				for x0 := 0; x0 < p.wo; x0 += l {
					lanes := min(l, p.wo-x0)
					transposeStrip(wk.cm[q*p.wo+x0:], run, src[x0*p.coup+c0:], p.coup, l, lanes, lanes)
				}
			}
			for c := 0; c < chans; c++ {
				dst, src := y[(img*p.cout+c0+c)*plane+ty*m*p.wo:][:run], wk.cm[c*run:][:run]
				switch {
				case add:
					Add(src, dst, dst)
				case b != nil:
					Affine(src, dst, 0, 1, b[c0+c]) // (v − 0)·1 + b: the bits of v + b
				default:
					copy(dst, src)
				}
			}
		}
	}
}

// forward computes y = conv(x, w) + b with w [cout, cin, 3, 3], or with add set (and b
// nil) adds conv(x, w) to y.
func (p *winoPlan) forward(x, w, b, y []float32, add bool) {
	u := p.weightTransform(w)
	defer putBuf(u)
	a := p.s.a
	np := p.mld / winoTileCols
	panel := p.cinp * winoTileCols
	nb := p.blocks(p.rows)
	Parallel(nb, 1, func(lo, hi int) {
		wk := p.newWork(true, true)
		defer wk.free()
		for blk := lo; blk < hi; blk++ {
			g0, g1 := blockRows(0, p.rows, nb, blk)
			p.transformRows(wk.v, p.cinp, p.vx, x, p.cin, p.h, p.w, p.pad, p.s.bt, g0, g1, wk.st, wk.half)
			nt := (g1 - g0) * p.tw
			// M[ξ] = V[ξ]·U[ξ], 14 tiles × 32 output channels at a time
			for xi := 0; xi < a*a; xi++ {
				v, mm := wk.v[xi*p.vx:], wk.mm[xi*p.mx:]
				for jp := 0; jp < np; jp++ {
					up := u[xi*p.ux+jp*panel:]
					for ir := 0; ir < nt; ir += winoTileRows {
						winoKernelRows(p.cinp, v[ir*p.cinp:], p.cinp, up, mm[ir*p.mld+jp*winoTileCols:], p.mld, 0, min(nt-ir, winoTileRows))
					}
				}
			}
			p.storeRows(y, g0, g1, wk, add, b)
		}
	})
}

// inputGrad sets dx to the gradient of conv(x, w) from dy, or with add set adds it to
// dx: the plan p is the one of the flipped convolution (dy as input, padding 2 − pad,
// cin = Cout, cout = Cin).
func (p *winoPlan) inputGrad(w, dy, dx []float32, add bool) {
	// Flipped, transposed weights w'[ci][co][ky][kx] = w[co][ci][2−ky][2−kx].
	cin, cout := p.cout, p.cin // of the original convolution
	wf := getBuf[float32](len(w))[:len(w)]
	defer putBuf(wf)
	Parallel(cout, 1, func(lo, hi int) { // 2.4M weights in ResNet-18's last layers
		for co := lo; co < hi; co++ {
			for ci := 0; ci < cin; ci++ {
				src := w[(co*cin+ci)*9 : (co*cin+ci+1)*9]
				dst := wf[(ci*cout+co)*9 : (ci*cout+co+1)*9]
				for t := 0; t < 9; t++ {
					dst[t] = src[8-t]
				}
			}
		}
	})
	p.forward(dy, wf, nil, dx, add)
}

// winoGradChunkFloats bounds the transformed x and dy the weight gradient holds at once.
const winoGradChunkFloats = 1 << 22

// weightGrad adds to dw the weight gradient of conv(x, w) from dy: dU = Σ_tiles D ⊙ V
// (D = A·dy·Aᵀ, V = Bᵀ·x·B per tile and channel pair), then dw += Gᵀ·dU·G.
//
// Two orders, chosen by the shape (the 2026-12-07 measurements of BenchmarkConv3x3Pass):
// when dU is small and the batch needs several chunks, every worker sums its own blocks
// into a private dU with V and D hot in its cache, and the private sums are added in
// block order (weightGradByBlock); otherwise, the Winograd points are shared out
// (weightGradByPoint). Both give the same bits on every call with the same inputs.
func (p *winoPlan) weightGrad(x, dy, dw []float32) {
	var du []float32
	if p.byBlock {
		du = p.weightGradByBlock(x, dy)
	} else {
		du = p.weightGradByPoint(x, dy)
	}
	defer putBuf(du)
	p.addWeightGrad(du, dw)
}

// weightGradByBlock returns dU: each worker transforms its blocks of tile rows and sums
// their products into its own dU, and the workers' sums are added in block order.
func (p *winoPlan) weightGradByBlock(x, dy []float32) []float32 {
	a := p.s.a
	nu := a * a * p.dux
	type part struct {
		lo int
		du []float32
	}
	var mu sync.Mutex
	var parts []part
	nb := p.blocks(p.rows)
	Parallel(nb, 1, func(lo, hi int) {
		wk := p.newWork(true, false)
		defer wk.free()
		du := getBuf[float32](nu)
		var beta float32
		for blk := lo; blk < hi; blk++ {
			g0, g1 := blockRows(0, p.rows, nb, blk)
			p.transformRows(wk.v, p.cinp, p.vx, x, p.cin, p.h, p.w, p.pad, p.s.bt, g0, g1, wk.st, wk.half)
			p.transformRows(wk.mm, p.coup, p.ddx, dy, p.cout, p.ho, p.wo, 0, p.s.aa, g0, g1, wk.st, wk.half)
			p.gradProducts(wk.mm, p.ddx, wk.v, p.vx, (g1-g0)*p.tw, du, 0, a*a, beta)
			beta = 1
		}
		mu.Lock()
		parts = append(parts, part{lo, du})
		mu.Unlock()
	})
	slices.SortFunc(parts, func(x, y part) int { return x.lo - y.lo })
	du := parts[0].du
	for _, pt := range parts[1:] {
		axpy(1, pt.du, du)
		putBuf(pt.du)
	}
	return du
}

// gradProducts sets (beta 0) or adds to dU[ξ] = D[ξ]ᵀ·V[ξ] for points xi0 … xi1−1 over nt
// tiles (D[ξ] at d[ξ·dx:], V[ξ] at v[ξ·vx:]), 14 output × 32 input channels at a time.
func (p *winoPlan) gradProducts(d []float32, dx int, v []float32, vx, nt int, du []float32, xi0, xi1 int, beta float32) {
	dc := p.dc
	for xi := xi0; xi < xi1; xi++ {
		dp, vp, dup := d[xi*dx:], v[xi*vx:], du[xi*p.dux:]
		for ir := 0; ir < p.coup; ir += winoTileRows {
			for jc := 0; jc < p.cinp; jc += winoTileCols {
				winoKernelStrided(nt, dp[ir:], p.coup, vp[jc:], p.cinp, dup[ir*dc+jc:], dc, beta, min(p.coup-ir, winoTileRows))
			}
		}
	}
}

// weightGradByPoint returns dU: the tile rows go in chunks; the workers transform a
// chunk's x and dy (V, D), then share out the Winograd points, each summing its dU[ξ]
// over the chunk's tiles. Every dU[ξ] is summed by one goroutine in tile order, so the
// bits do not depend on the number of workers.
func (p *winoPlan) weightGradByPoint(x, dy []float32) []float32 {
	a := p.s.a
	du := getBuf[float32](a * a * p.dux)
	rc := p.gradRows
	tc := rc * p.tw
	// slack: the product kernel reads whole 14×32 tiles
	vx, ddx := skewPoint(tc*p.cinp), skewPoint(tc*p.coup) // point strides of V and D
	v, d := getBuf[float32](a*a*vx+winoTileCols), getBuf[float32](a*a*ddx+winoTileCols)
	defer putBuf(v)
	defer putBuf(d)
	for c0 := 0; c0 < p.rows; c0 += rc {
		c1 := min(c0+rc, p.rows)
		nt := (c1 - c0) * p.tw
		nb := p.blocks(c1 - c0)
		Parallel(nb, 1, func(lo, hi int) {
			st, half := getBuf[float32](a*p.wp*winoLanes), getBuf[float32](a*p.wp*winoLanes)
			defer putBuf(st)
			defer putBuf(half)
			for blk := lo; blk < hi; blk++ {
				g0, g1 := blockRows(c0, c1-c0, nb, blk)
				t0 := (g0 - c0) * p.tw
				p.transformRows(v[t0*p.cinp:], p.cinp, vx, x, p.cin, p.h, p.w, p.pad, p.s.bt, g0, g1, st, half)
				p.transformRows(d[t0*p.coup:], p.coup, ddx, dy, p.cout, p.ho, p.wo, 0, p.s.aa, g0, g1, st, half)
			}
		})
		var beta float32
		if c0 > 0 {
			beta = 1
		}
		Parallel(a*a, 1, func(lo, hi int) {
			p.gradProducts(d, ddx, v, vx, nt, du, lo, hi, beta)
		})
	}
	return du
}

// addWeightGrad adds Gᵀ·dU·G to dw [cout, cin, 3, 3].
func (p *winoPlan) addWeightGrad(du []float32, dw []float32) {
	a, dc := p.s.a, p.dc
	// dw[co][ci] += Gᵀ·dU·G, 16 input channels at a time (contiguous in dU)
	Parallel(p.cout, 1, func(lo, hi int) {
		const l = winoLanes
		var half [3 * 6 * l]float32
		var res [9 * l]float32
		xi := p.dux
		for co := lo; co < hi; co++ {
			for c0 := 0; c0 < p.cin; c0 += l {
				// down: half[ky][q] = Σ_r Gᵀ[ky][r]·dU[r·a+q]; across: res[ky][kx] = Σ_q Gᵀ[kx][q]·half[ky][q]
				winoLin(p.s.gt, du[co*dc+c0:], a*xi, xi, half[:], a*l, l, a)
				winoLin(p.s.gt, half[:], l, a*l, res[:], l, 3*l, 3)
				for r := 0; r < min(l, p.cin-c0); r++ {
					out := dw[(co*p.cin+c0+r)*9 : (co*p.cin+c0+r+1)*9]
					for t := range out {
						out[t] += res[t*l+r]
					}
				}
			}
		}
	})
}
