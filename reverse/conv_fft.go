package reverse

import (
	"fmt"
	"math"
	"math/cmplx"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"

	"github.com/frpt/frpt/tensor"
)

// Frequency-domain convolution reverse (spec §4.2.3 fft_pad, §4.2.4 fft_oldbound).
//
// A valid cross-correlation equals a circular convolution with the spatially flipped
// kernel, read off in the bottom-right corner of the (padded) input grid. On that grid the
// problem splits into one small complex system per frequency f of the real 2-D FFT:
// A_f X_f = B_f with A_f ∈ ℂ^{Cout×Cin}. The per-frequency solve matrices (inverse,
// minimum-norm correction or pseudo-inverse) and the SVDs of the Tikhonov fallback are
// computed once per weight and grid size, through gonum on the real 2n×2n embedding of
// each complex system, and cached in the Conv2D.

// fftKind is the per-frequency system type.
type fftKind int

const (
	fftSquare fftKind = iota // Cin = Cout: X = A⁻¹B (anchor ignored)
	fftShrink                // Cin > Cout: X = X₀ + Aᴴ(AAᴴ)⁻¹(B − AX₀)
	fftExpand                // Cin < Cout: X = A⁺B (anchor ignored)
)

// fftPlan holds everything that depends on the weight and the grid size only.
type fftPlan struct {
	hp, wp, wf int // FFT grid and number of half-spectrum columns
	nf         int // frequencies: hp·wf
	cin, cout  int
	kind       fftKind
	a          []complex128 // nf × cout × cin
	s          []complex128 // nf × cin × cout solve matrix
	ok         []bool       // factorisation succeeded (else X = X₀)
	allOK      bool         // every frequency's factorisation succeeded
	normF      []float64    // ‖A_f‖_F
	// Tikhonov fallback, real embedding A_E (2cout × 2cin) = U Σ Vᵀ.
	u, v  [][]float64 // per f: 2cout×r and 2cin×r, row-major
	sigma [][]float64
	r     int

	free scratchList[fftWork]
}

// fftKey is the cache key of an fftPlan.
type fftKey struct{ hp, wp int }

// fftSerialWork is the largest grid size times channel count (Hp·Wp·(Cin+Cout)) whose
// samples are reversed one after the other on the calling goroutine rather than spread
// over tensor.Workers: the bench layers up to 64² (a few hundred microseconds per call).
const fftSerialWork = 64 * 64 * 6

func (c *Conv2D) fftPlan(hp, wp int) (*fftPlan, error) {
	v := c.cached(fftKey{hp, wp}, func() any {
		p, err := c.buildFFTPlan(hp, wp)
		if err != nil {
			return err
		}
		return p
	})
	if err, ok := v.(error); ok {
		return nil, err
	}
	return v.(*fftPlan), nil
}

func (c *Conv2D) buildFFTPlan(hp, wp int) (*fftPlan, error) {
	wf := wp/2 + 1
	p := &fftPlan{hp: hp, wp: wp, wf: wf, nf: hp * wf, cin: c.Cin, cout: c.Cout}
	switch {
	case c.Cin == c.Cout:
		p.kind = fftSquare
	case c.Cin > c.Cout:
		p.kind = fftShrink
	default:
		p.kind = fftExpand
	}
	// Kernel spectra: DFT of the flipped kernel, zero-padded to hp×wp.
	ff := tensor.NewRealFFT2(hp, wp)
	canvas := make([]float64, hp*wp)
	spec := make([]complex128, p.nf)
	p.a = make([]complex128, p.nf*c.Cout*c.Cin)
	for co := 0; co < c.Cout; co++ {
		for ci := 0; ci < c.Cin; ci++ {
			clear(canvas)
			k := c.Weight[(co*c.Cin+ci)*c.KH*c.KW:]
			for i := 0; i < c.KH; i++ {
				for j := 0; j < c.KW; j++ {
					canvas[i*wp+j] = k[(c.KH-1-i)*c.KW+(c.KW-1-j)]
				}
			}
			ff.Forward(spec, canvas)
			for f := 0; f < p.nf; f++ {
				p.a[(f*c.Cout+co)*c.Cin+ci] = spec[f]
			}
		}
	}
	m, n := c.Cout, c.Cin
	p.r = 2 * min(m, n)
	p.s = make([]complex128, p.nf*n*m)
	p.ok = make([]bool, p.nf)
	p.normF = make([]float64, p.nf)
	p.u, p.v, p.sigma = make([][]float64, p.nf), make([][]float64, p.nf), make([][]float64, p.nf)
	var firstErr error
	tensor.Parallel(p.nf, 16, func(lo, hi int) {
		for f := lo; f < hi; f++ {
			if err := p.factor(f); err != nil && firstErr == nil {
				firstErr = err
			}
		}
	})
	p.allOK = true
	for _, ok := range p.ok {
		p.allOK = p.allOK && ok
	}
	return p, firstErr
}

// embed returns the real 2p×2q embedding [[Re, −Im], [Im, Re]] of a complex p×q matrix.
func embed(a []complex128, p, q int) *mat.Dense {
	e := mat.NewDense(2*p, 2*q, nil)
	for i := 0; i < p; i++ {
		for j := 0; j < q; j++ {
			z := a[i*q+j]
			e.Set(i, j, real(z))
			e.Set(i, q+j, -imag(z))
			e.Set(p+i, j, imag(z))
			e.Set(p+i, q+j, real(z))
		}
	}
	return e
}

// unembed reads the complex p×q matrix out of its real embedding.
func unembed(e mat.Matrix, p, q int, dst []complex128) {
	for i := 0; i < p; i++ {
		for j := 0; j < q; j++ {
			dst[i*q+j] = complex(e.At(i, j), e.At(p+i, j))
		}
	}
}

// factor computes frequency f's solve matrix and Tikhonov SVD.
func (p *fftPlan) factor(f int) error {
	m, n := p.cout, p.cin
	af := p.a[f*m*n : (f+1)*m*n]
	nf := 0.0
	for _, z := range af {
		nf += real(z)*real(z) + imag(z)*imag(z)
	}
	p.normF[f] = math.Sqrt(nf)
	E := embed(af, m, n)
	sf := p.s[f*n*m : (f+1)*n*m]
	singular := func(lu *mat.LU) bool {
		c := lu.Cond()
		return math.IsInf(c, 0) || math.IsNaN(c) || c > 1e15
	}
	switch p.kind {
	case fftSquare:
		var lu mat.LU
		lu.Factorize(E)
		if !singular(&lu) {
			var inv mat.Dense
			if err := lu.SolveTo(&inv, false, eye(2*n)); err == nil {
				unembed(&inv, n, m, sf)
				p.ok[f] = true
			}
		}
	case fftShrink:
		var G mat.Dense
		G.Mul(E, E.T())
		var lu mat.LU
		lu.Factorize(&G)
		if !singular(&lu) {
			var Z, S mat.Dense
			if err := lu.SolveTo(&Z, false, eye(2*m)); err == nil {
				S.Mul(E.T(), &Z)
				unembed(&S, n, m, sf)
				p.ok[f] = true
			}
		}
	case fftExpand:
		var qr mat.QR
		qr.Factorize(E)
		var S mat.Dense
		if err := qr.SolveTo(&S, false, eye(2*m)); err == nil {
			unembed(&S, n, m, sf)
			p.ok[f] = true
		}
	}
	var svd mat.SVD
	if !svd.Factorize(E, mat.SVDThin) {
		return fmt.Errorf("reverse.Conv2D: SVD of the frequency-%d system failed", f)
	}
	var U, V mat.Dense
	svd.UTo(&U)
	svd.VTo(&V)
	p.u[f] = append([]float64(nil), U.RawMatrix().Data...)
	p.v[f] = append([]float64(nil), V.RawMatrix().Data...)
	p.sigma[f] = svd.Values(nil)
	return nil
}

func sq(x float64) float64 { return x * x }

func eye(n int) *mat.Dense {
	d := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		d.Set(i, i, 1)
	}
	return d
}

// fftWork is one worker's scratch space.
type fftWork struct {
	ff        *tensor.RealFFT2
	grid      []float64
	x0, b, xs []complex128 // per channel spectra: cin×nf, cout×nf, cin×nf
	xv, x0v   []complex128 // one frequency: cin
	bv, rv    []complex128 // one frequency: cout
	re, tmp   []float64
	fallbacks int
}

// reverseFFT is the fft_pad method (spec §4.2.3), or fft_oldbound (§4.2.4) when boundary
// is set. b is the bias-free target.
func (c *Conv2D) reverseFFT(anchor []float64, n, h, w int, b []float64, opt Options, boundary bool) ([]float64, Diag, error) {
	pad := c.Pad
	ho, wo := c.OutSize(h, w)
	hp, wp := h+2*pad, w+2*pad
	if boundary && pad > 0 {
		// fft_oldbound works on the unpadded grid; the wrap-around of the padded
		// convolution is estimated from the anchor (§4.2.4). For p = 0 it equals fft_pad.
		if ho > h || wo > w {
			return nil, Diag{}, fmt.Errorf("reverse.Conv2D: fft_oldbound needs an output no larger than the input (padding %d, kernel %d×%d, input %d×%d)", pad, c.KH, c.KW, h, w)
		}
		hp, wp = h, w
	} else {
		boundary = false
	}
	plan, err := c.fftPlan(hp, wp)
	if err != nil {
		return nil, Diag{}, err
	}
	d := Diag{Method: "conv-fft-" + [...]string{"square", "shrink", "expand"}[plan.kind]}
	if boundary {
		d.Method = "conv-fftbound-" + [...]string{"square", "shrink", "expand"}[plan.kind]
	}
	x := make([]float64, len(anchor))
	run := func(lo, hi int) int {
		wk := plan.work()
		wk.fallbacks = 0
		for s := lo; s < hi; s++ {
			xa := anchor[s*c.Cin*h*w : (s+1)*c.Cin*h*w]
			bs := b[s*c.Cout*ho*wo : (s+1)*c.Cout*ho*wo]
			c.fftSample(plan, wk, xa, bs, x[s*c.Cin*h*w:(s+1)*c.Cin*h*w], h, w, ho, wo, pad, boundary, opt)
		}
		f := wk.fallbacks
		plan.release(wk)
		return f
	}
	if n == 1 || hp*wp*(c.Cin+c.Cout) <= fftSerialWork {
		// A small call takes tens of microseconds: waking a second thread for it costs
		// as much and makes the time per call swing (more so right after a GC).
		d.Fallbacks = run(0, n)
	} else {
		var fallbacks atomic.Int64
		tensor.Parallel(n, 1, func(lo, hi int) { fallbacks.Add(int64(run(lo, hi))) })
		d.Fallbacks = int(fallbacks.Load())
	}
	return x, d, nil
}

// work returns a worker's scratch space for this plan; release gives it back.
func (p *fftPlan) work() *fftWork {
	return p.free.get(func() *fftWork {
		cin, cout, nf := p.cin, p.cout, p.nf
		return &fftWork{ff: tensor.NewRealFFT2(p.hp, p.wp), grid: make([]float64, p.hp*p.wp),
			x0: make([]complex128, cin*nf), b: make([]complex128, cout*nf), xs: make([]complex128, cin*nf),
			xv: make([]complex128, cin), x0v: make([]complex128, cin), bv: make([]complex128, cout), rv: make([]complex128, cout),
			re: make([]float64, 2*max(cin, cout)), tmp: make([]float64, p.r)}
	})
}

func (p *fftPlan) release(wk *fftWork) { p.free.put(wk) }

// fftSample reverses one sample into out (cin×h×w).
func (c *Conv2D) fftSample(p *fftPlan, wk *fftWork, xa, bs, out []float64, h, w, ho, wo, pad int, boundary bool, opt Options) {
	hp, wp, nf := p.hp, p.wp, p.nf
	cin, cout := c.Cin, c.Cout
	// Anchor spectra (zero-padded by pad unless boundary mode works on the raw grid). The
	// square and expand solves ignore the anchor, so unless a frequency keeps it (failed
	// factorisation) or the reliability tests and the Tikhonov fallback need it, it is not
	// transformed.
	off := pad
	if boundary {
		off = 0
	}
	needAnchor := p.kind == fftShrink || !p.allOK || opt.Regularize
	for ci := 0; ci < cin && needAnchor; ci++ {
		clear(wk.grid)
		src := xa[ci*h*w : (ci+1)*h*w]
		for i := 0; i < h; i++ {
			copy(wk.grid[(i+off)*wp+off:(i+off)*wp+off+w], src[i*w:(i+1)*w])
		}
		wk.ff.Forward(wk.x0[ci*nf:(ci+1)*nf], wk.grid)
	}
	// Target canvas: the target at the bottom-right (fft_pad), or at rows/cols
	// (i + KH−1−p) mod H plus the anchor's wrap-around contribution (fft_oldbound).
	for co := 0; co < cout; co++ {
		clear(wk.grid)
		src := bs[co*ho*wo : (co+1)*ho*wo]
		if !boundary {
			r0, c0 := hp-ho, wp-wo
			for i := 0; i < ho; i++ {
				copy(wk.grid[(r0+i)*wp+c0:(r0+i)*wp+c0+wo], src[i*wo:(i+1)*wo])
			}
		} else {
			c.boundaryCanvas(wk.grid, src, xa, co, h, w, ho, wo, pad)
		}
		wk.ff.Forward(wk.b[co*nf:(co+1)*nf], wk.grid)
	}
	tauS, tauL := opt.tauSolve(), opt.tauLstsq()
	floor := opt.FloorMatrix * math.Sqrt(float64(cin))
	direct := !opt.Regularize && p.allOK && p.kind != fftShrink
	if direct {
		// X_f = S_f B_f at every frequency, without the per-frequency gathers (same
		// arithmetic as cmatVec).
		solveFreqs(wk.xs, p.s, wk.b, nf, cin, cout)
	}
	for f := 0; f < nf && !direct; f++ {
		if needAnchor {
			for ci := 0; ci < cin; ci++ {
				wk.x0v[ci] = wk.x0[ci*nf+f]
			}
		}
		for co := 0; co < cout; co++ {
			wk.bv[co] = wk.b[co*nf+f]
		}
		a := p.a[f*cout*cin : (f+1)*cout*cin]
		s := p.s[f*cin*cout : (f+1)*cin*cout]
		xv := wk.xv
		if !p.ok[f] {
			copy(xv, wk.x0v)
		} else {
			switch p.kind {
			case fftSquare, fftExpand:
				cmatVec(xv, s, wk.bv, cin, cout)
			case fftShrink:
				cmatVec(wk.rv, a, wk.x0v, cout, cin)
				for i := range wk.rv {
					wk.rv[i] = wk.bv[i] - wk.rv[i]
				}
				cmatVec(xv, s, wk.rv, cin, cout)
				for i := range xv {
					xv[i] += wk.x0v[i]
				}
			}
		}
		if opt.Regularize && !p.reliableAt(f, a, xv, wk.x0v, wk.bv, wk.rv, floor, tauS, tauL, opt) {
			p.tikhonov(f, a, xv, wk.x0v, wk.bv, wk.rv, wk.re, wk.tmp, opt)
			wk.fallbacks++
		}
		for ci := 0; ci < cin; ci++ {
			wk.xs[ci*nf+f] = xv[ci]
		}
	}
	for ci := 0; ci < cin; ci++ {
		dst := out[ci*h*w : (ci+1)*h*w]
		if hp == h && wp == w {
			wk.ff.Inverse(dst, wk.xs[ci*nf:(ci+1)*nf]) // the grid is the input
			continue
		}
		wk.ff.Inverse(wk.grid, wk.xs[ci*nf:(ci+1)*nf])
		for i := 0; i < h; i++ {
			copy(dst[i*w:(i+1)*w], wk.grid[(i+off)*wp+off:(i+off)*wp+off+w])
		}
	}
}

// boundaryCanvas fills the fft_oldbound target canvas for output channel co: output
// (i, j) sits at ((i+KH−1−p) mod H, (j+KW−1−p) mod W) and carries the target plus the
// wrap-around terms that the circular convolution adds there, evaluated on the anchor.
func (c *Conv2D) boundaryCanvas(grid, tgt, xa []float64, co, h, w, ho, wo, pad int) {
	for i := 0; i < ho; i++ {
		for j := 0; j < wo; j++ {
			v := tgt[i*wo+j]
			for ci := 0; ci < c.Cin; ci++ {
				k := c.Weight[(co*c.Cin+ci)*c.KH*c.KW:]
				xs := xa[ci*h*w : (ci+1)*h*w]
				for u := 0; u < c.KH; u++ {
					r := i + u - pad
					rw := ((r % h) + h) % h
					for q := 0; q < c.KW; q++ {
						cc := j + q - pad
						if r >= 0 && r < h && cc >= 0 && cc < w {
							continue
						}
						cw := ((cc % w) + w) % w
						v += k[u*c.KW+q] * xs[rw*w+cw]
					}
				}
			}
			grid[((i+c.KH-1-pad)%h)*w+(j+c.KW-1-pad)%w] = v
		}
	}
}

// solveFreqs sets xs[ci·nf+f] = Σ_co s[(f·cin+ci)·cout+co]·b[co·nf+f] for every
// frequency f: X_f = S_f B_f on channel-major spectra, summed in cmatVec's order.
func solveFreqs(xs, s, b []complex128, nf, cin, cout int) {
	s = s[:nf*cin*cout]
	b = b[:cout*nf]
	xs = xs[:cin*nf]
	for f := 0; f < nf; f++ {
		sf := s[f*cin*cout : (f+1)*cin*cout]
		for ci := 0; ci < cin; ci++ {
			var re, im float64
			for co, z := range sf[ci*cout : (ci+1)*cout] {
				v := b[co*nf+f]
				re += real(z)*real(v) - imag(z)*imag(v)
				im += real(z)*imag(v) + imag(z)*real(v)
			}
			xs[ci*nf+f] = complex(re, im)
		}
	}
}

// cmatVec sets y = M x for a complex rows×cols matrix M.
func cmatVec(y, m, x []complex128, rows, cols int) {
	for i := 0; i < rows; i++ {
		var s complex128
		row := m[i*cols : (i+1)*cols]
		for j, v := range row {
			s += v * x[j]
		}
		y[i] = s
	}
}

func cnorm(x []complex128) float64 {
	s := 0.0
	for _, z := range x {
		s += real(z)*real(z) + imag(z)*imag(z)
	}
	return math.Sqrt(s)
}

// reliableAt runs the §2.2 tests on frequency f of one sample (complex modulus for the
// magnitude bound, ‖A_f‖_F in the residual tests). rv is scratch of length cout.
func (p *fftPlan) reliableAt(f int, a, x, x0, b, rv []complex128, floor, tauS, tauL float64, opt Options) bool {
	dev, ref := 0.0, 0.0
	for i, z := range x {
		if cmplx.IsNaN(z) || cmplx.IsInf(z) || cmplx.Abs(z) > opt.MaxAbs {
			return false
		}
		d := z - x0[i]
		dev += real(d)*real(d) + imag(d)*imag(d)
		ref += real(x0[i])*real(x0[i]) + imag(x0[i])*imag(x0[i])
	}
	if ref = math.Sqrt(ref); ref > floor && math.Sqrt(dev) > opt.MaxDevRatio*ref {
		return false
	}
	cmatVec(rv, a, x, p.cout, p.cin)
	for i := range rv {
		rv[i] -= b[i]
	}
	an, xn, bn := p.normF[f], cnorm(x), cnorm(b)
	if p.kind != fftExpand {
		return cnorm(rv)/(an*xn+bn+1e-300) <= tauS
	}
	// ‖Aᴴ(Ax − b)‖
	g := 0.0
	for j := 0; j < p.cin; j++ {
		var s complex128
		for i := 0; i < p.cout; i++ {
			s += cmplx.Conj(a[i*p.cin+j]) * rv[i]
		}
		g += real(s)*real(s) + imag(s)*imag(s)
	}
	return math.Sqrt(g)/(an*(an*xn+bn)+1e-300) <= tauL
}

// tikhonov overwrites x with the centred Tikhonov solution of frequency f (§2.1):
// x = x₀ + V diag(σ/(σ²+α)) Uᵀ r on the real embedding, α = max(α₀, (‖r‖/(2μ))²) with
// μ = MaxAbs − max|x₀| when positive. re and tmp are scratch (2·max(cin,cout), r).
func (p *fftPlan) tikhonov(f int, a, x, x0, b, rv []complex128, re, tmp []float64, opt Options) {
	m, n, r := p.cout, p.cin, p.r
	cmatVec(rv, a, x0, m, n)
	for i := range rv {
		rv[i] = b[i] - rv[i]
		re[i], re[m+i] = real(rv[i]), imag(rv[i])
	}
	sig := p.sigma[f]
	s1 := sig[0]
	eps := math.Nextafter(1, 2) - 1
	alpha := max(sq(s1/opt.Kappa), eps*max(s1*s1, 1))
	mx := 0.0
	for _, z := range x0 {
		mx = max(mx, cmplx.Abs(z))
	}
	if mu := opt.MaxAbs - mx; mu > 0 {
		alpha = max(alpha, sq(cnorm(rv)/(2*mu)))
	}
	u, v := p.u[f], p.v[f]
	for k := 0; k < r; k++ {
		s := 0.0
		for i := 0; i < 2*m; i++ {
			s += u[i*r+k] * re[i]
		}
		tmp[k] = s * sig[k] / (sig[k]*sig[k] + alpha)
	}
	for j := 0; j < n; j++ {
		var sr, si float64
		for k := 0; k < r; k++ {
			sr += v[j*r+k] * tmp[k]
			si += v[(n+j)*r+k] * tmp[k]
		}
		x[j] = x0[j] + complex(sr, si)
	}
}
