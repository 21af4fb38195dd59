package tensor

import (
	"fmt"
	"math"
)

// Real 2-D FFTs for the frequency-domain convolution reverses. The grids are small (16² to
// 256², often not powers of two), so the transforms are planned once per size and run
// without allocating: a self-sorting (Stockham) mixed-radix complex FFT along the first
// axis of a row-major n×m block, whose inner loops run over whole contiguous rows of the
// block (all m columns at once, and the not yet transformed index too), radix 4, 2 and 3
// butterflies, and a plain DFT butterfly for every other prime factor (so a prime length
// costs O(n²), as in any mixed-radix FFT). Real rows are packed two at a time into one
// complex FFT.

// cfftStage is one radix-p pass of a length-n transform: l is the length of the
// sub-transforms already done, r = n/(l·p) the number of sub-sequences per stage.
type cfftStage struct {
	p, l, r int
	tw, twi []complex128 // forward and inverse twiddles, l×(p−1)
	rt, rti []complex128 // p-th roots of unity for the generic butterfly
}

// cfft is a planned complex FFT of length n along the first axis of an n×m block.
type cfft struct {
	n      int
	stages []cfftStage
	tmp    []complex128 // generic butterfly scratch (largest radix)
}

func newCFFT(n int) *cfft {
	if n < 1 {
		panic(fmt.Sprintf("tensor: FFT length %d", n))
	}
	c := &cfft{n: n}
	l, rest := 1, n
	maxP := 1
	for rest > 1 {
		var p int
		switch {
		case rest%4 == 0:
			p = 4
		case rest%2 == 0:
			p = 2
		case rest%3 == 0:
			p = 3
		default:
			p = 5
			for rest%p != 0 {
				p += 2
				if p*p > rest {
					p = rest
				}
			}
		}
		rest /= p
		st := cfftStage{p: p, l: l, r: rest}
		L := l * p
		st.tw = make([]complex128, l*(p-1))
		st.twi = make([]complex128, l*(p-1))
		for q := 0; q < l; q++ {
			for s := 1; s < p; s++ {
				w := unitRoot(s*q, L)
				st.tw[q*(p-1)+s-1] = w
				st.twi[q*(p-1)+s-1] = complex(real(w), -imag(w))
			}
		}
		if p > 4 {
			st.rt = make([]complex128, p)
			st.rti = make([]complex128, p)
			for j := range p {
				w := unitRoot(j, p)
				st.rt[j], st.rti[j] = w, complex(real(w), -imag(w))
			}
		}
		maxP = max(maxP, p)
		c.stages = append(c.stages, st)
		l = L
	}
	c.tmp = make([]complex128, maxP)
	return c
}

// unitRoot returns exp(−2πi·k/n), reducing k first so that large products stay exact.
func unitRoot(k, n int) complex128 {
	k %= n
	s, c := math.Sincos(-2 * math.Pi * float64(k) / float64(n))
	return complex(c, s)
}

// run transforms the n×m block in a along its first axis (forward: exponent −, inverse:
// exponent +, unnormalised), using b (same length) as the other buffer, and returns
// whichever of a and b holds the result: a after an even number of stages, b after an odd.
func (c *cfft) run(a, b []complex128, m int, inverse bool) []complex128 {
	src, dst := a[:c.n*m], b[:c.n*m]
	for i := range c.stages {
		st := &c.stages[i]
		tw := st.tw
		if inverse {
			tw = st.twi
		}
		rm := st.r * m
		switch st.p {
		case 4:
			radix4(dst, src, tw, st.l, rm, inverse)
		case 2:
			radix2(dst, src, tw, st.l, rm)
		case 3:
			radix3(dst, src, tw, st.l, rm, inverse)
		default:
			rt := st.rt
			if inverse {
				rt = st.rti
			}
			radixN(dst, src, tw, rt, c.tmp, st.p, st.l, rm)
		}
		src, dst = dst, src
	}
	return src
}

// In every butterfly, input s of sub-transform q is the run src[(q·p+s)·rm:][:rm] and
// output u goes to dst[(q+l·u)·rm:][:rm].

func radix2(dst, src, tw []complex128, l, rm int) {
	for q := 0; q < l; q++ {
		in := src[2*q*rm : 2*(q+1)*rm]
		a0, a1 := in[:rm], in[rm:2*rm]
		o0, o1 := dst[q*rm:(q+1)*rm], dst[(q+l)*rm:(q+l+1)*rm]
		a1, o0, o1 = a1[:len(a0)], o0[:len(a0)], o1[:len(a0)] // bounds-check hints
		w := tw[q]
		if q == 0 {
			for k, x := range a0 {
				y := a1[k]
				o0[k], o1[k] = x+y, x-y
			}
			continue
		}
		for k, x := range a0 {
			y := a1[k] * w
			o0[k], o1[k] = x+y, x-y
		}
	}
}

func radix4(dst, src, tw []complex128, l, rm int, inverse bool) {
	for q := 0; q < l; q++ {
		in := src[4*q*rm : 4*(q+1)*rm]
		a0, a1, a2, a3 := in[:rm], in[rm:2*rm], in[2*rm:3*rm], in[3*rm:]
		o0, o1 := dst[q*rm:(q+1)*rm], dst[(q+l)*rm:(q+l+1)*rm]
		o2, o3 := dst[(q+2*l)*rm:(q+2*l+1)*rm], dst[(q+3*l)*rm:(q+3*l+1)*rm]
		// The forward butterfly multiplies by −i where the inverse multiplies by +i, which
		// swaps outputs 1 and 3.
		if inverse {
			o1, o3 = o3, o1
		}
		a1, a2, a3 = a1[:len(a0)], a2[:len(a0)], a3[:len(a0)]
		o0, o1, o2, o3 = o0[:len(a0)], o1[:len(a0)], o2[:len(a0)], o3[:len(a0)]
		if q == 0 {
			for k, x0 := range a0 {
				x1, x2, x3 := a1[k], a2[k], a3[k]
				t0, t1, t2, d := x0+x2, x0-x2, x1+x3, x1-x3
				t3 := complex(imag(d), -real(d)) // −i·d
				o0[k], o1[k], o2[k], o3[k] = t0+t2, t1+t3, t0-t2, t1-t3
			}
			continue
		}
		w1, w2, w3 := tw[3*q], tw[3*q+1], tw[3*q+2]
		for k, x0 := range a0 {
			x1, x2, x3 := a1[k]*w1, a2[k]*w2, a3[k]*w3
			t0, t1, t2, d := x0+x2, x0-x2, x1+x3, x1-x3
			t3 := complex(imag(d), -real(d))
			o0[k], o1[k], o2[k], o3[k] = t0+t2, t1+t3, t0-t2, t1-t3
		}
	}
}

func radix3(dst, src, tw []complex128, l, rm int, inverse bool) {
	const h = 0.86602540378443864676 // √3/2
	for q := 0; q < l; q++ {
		in := src[3*q*rm : 3*(q+1)*rm]
		a0, a1, a2 := in[:rm], in[rm:2*rm], in[2*rm:]
		o0, o1, o2 := dst[q*rm:(q+1)*rm], dst[(q+l)*rm:(q+l+1)*rm], dst[(q+2*l)*rm:(q+2*l+1)*rm]
		if inverse {
			o1, o2 = o2, o1
		}
		a1, a2 = a1[:len(a0)], a2[:len(a0)]
		o0, o1, o2 = o0[:len(a0)], o1[:len(a0)], o2[:len(a0)]
		w1, w2 := tw[2*q], tw[2*q+1]
		for k, x0 := range a0 {
			x1, x2 := a1[k], a2[k]
			if q > 0 {
				x1, x2 = x1*w1, x2*w2
			}
			t, d := x1+x2, x1-x2
			m := x0 - 0.5*t
			e := complex(h*imag(d), -h*real(d)) // −i·(√3/2)·d
			o0[k], o1[k], o2[k] = x0+t, m+e, m-e
		}
	}
}

// radixN is the butterfly for any radix p: a direct p-point DFT with the roots rt.
func radixN(dst, src, tw, rt, tmp []complex128, p, l, rm int) {
	for q := 0; q < l; q++ {
		in := src[p*q*rm : p*(q+1)*rm]
		for k := 0; k < rm; k++ {
			tmp[0] = in[k]
			for s := 1; s < p; s++ {
				tmp[s] = in[s*rm+k] * tw[q*(p-1)+s-1]
			}
			for u := 0; u < p; u++ {
				var acc complex128
				j := 0
				for s := 0; s < p; s++ {
					acc += tmp[s] * rt[j]
					if j += u; j >= p {
						j -= p
					}
				}
				dst[(q+l*u)*rm+k] = acc
			}
		}
	}
}

// RealFFT2 is a real 2-D FFT on an h×w grid: the forward transform maps an h×w real array
// (row-major) to its half spectrum of h×(w/2+1) complex coefficients (row-major,
// unnormalised, exponent −), the inverse maps a half spectrum back to h×w (normalised by
// 1/(h·w)). Any h, w ≥ 1 work; lengths with prime factors other than 2 and 3 are slower.
// A RealFFT2 holds scratch space and is not safe for concurrent use; calls do not
// allocate.
type RealFFT2 struct {
	h, w, wf, hr int
	row, col     *cfft
	a, b         []complex128 // w×hr: the row pairs, transposed
	c            []complex128 // h×wf
}

// NewRealFFT2 plans a real 2-D FFT on an h×w grid.
func NewRealFFT2(h, w int) *RealFFT2 {
	if h < 1 || w < 1 {
		panic(fmt.Sprintf("tensor: real FFT of a %d×%d grid", h, w))
	}
	hr := (h + 1) / 2
	wf := w/2 + 1
	return &RealFFT2{h: h, w: w, wf: wf, hr: hr, row: newCFFT(w), col: newCFFT(h),
		a: make([]complex128, w*hr), b: make([]complex128, w*hr), c: make([]complex128, h*wf)}
}

// SpectrumLen returns the number of half-spectrum coefficients, h·(w/2+1).
func (t *RealFFT2) SpectrumLen() int { return t.h * t.wf }

func (t *RealFFT2) check(nspec, nreal int) {
	if nspec != t.h*t.wf || nreal != t.h*t.w {
		panic(fmt.Sprintf("tensor: real FFT of %d×%d needs %d coefficients and %d values, got %d and %d", t.h, t.w, t.h*t.wf, t.h*t.w, nspec, nreal))
	}
}

// Forward writes the half spectrum of x (h×w) to dst (h×(w/2+1)).
func (t *RealFFT2) Forward(dst []complex128, x []float64) {
	t.check(len(dst), len(x))
	h, w, wf, hr := t.h, t.w, t.wf, t.hr
	// Rows 2r and 2r+1 become the real and imaginary parts of one complex row, stored as
	// column r of the w×hr block a.
	a := t.a
	for r := 0; r < hr; r++ {
		x0 := x[2*r*w : (2*r+1)*w]
		if 2*r+1 < h {
			x1 := x[(2*r+1)*w : (2*r+2)*w]
			for j, v := range x0 {
				a[j*hr+r] = complex(v, x1[j])
			}
		} else {
			for j, v := range x0 {
				a[j*hr+r] = complex(v, 0)
			}
		}
	}
	z := t.row.run(a, t.b, hr, false)
	// Split Z = X₀ + iX₁: X₀[k] = (Z[k] + Z̄[−k])/2, X₁[k] = (Z[k] − Z̄[−k])/(2i). The column
	// pass then runs in place when it has an even number of stages, else from c into dst.
	s := dst
	if len(t.col.stages)%2 == 1 {
		s = t.c
	}
	for k := 0; k < wf; k++ {
		zk := z[k*hr : (k+1)*hr]
		nk := (w - k) % w
		zn := z[nk*hr : (nk+1)*hr]
		for r, v := range zk {
			c := complex(real(zn[r]), -imag(zn[r]))
			p, m := v+c, v-c
			s[2*r*wf+k] = 0.5 * p
			if 2*r+1 < h {
				s[(2*r+1)*wf+k] = complex(0.5*imag(m), -0.5*real(m))
			}
		}
	}
	if len(t.col.stages)%2 == 1 {
		t.col.run(s, dst, wf, false)
	} else {
		t.col.run(s, t.c, wf, false)
	}
}

// Inverse writes the real h×w array of the half spectrum spec to dst, overwriting spec.
// The imaginary parts of the self-conjugate bins of every row (column 0 and, for even w,
// column w/2, after the column pass) are discarded, as by any inverse real FFT.
func (t *RealFFT2) Inverse(dst []float64, spec []complex128) {
	t.check(len(spec), len(dst))
	h, w, wf, hr := t.h, t.w, t.wf, t.hr
	s := t.col.run(spec, t.c, wf, true)
	// Row pair (2r, 2r+1) → one complex row Z = X̃₀ + iX̃₁ over all w bins, where X̃ extends
	// the half row by conjugate symmetry.
	a := t.a
	nyq := -1
	if w%2 == 0 {
		nyq = w / 2
	}
	for r := 0; r < hr; r++ {
		x0 := s[2*r*wf : (2*r+1)*wf]
		var x1 []complex128
		if 2*r+1 < h {
			x1 = s[(2*r+1)*wf : (2*r+2)*wf]
		}
		for k := 0; k < wf; k++ {
			u := x0[k]
			var v complex128
			if x1 != nil {
				v = x1[k]
			}
			if k == 0 || k == nyq {
				u, v = complex(real(u), 0), complex(real(v), 0)
			}
			a[k*hr+r] = complex(real(u)-imag(v), imag(u)+real(v))
			if k > 0 && k != nyq {
				// bin w−k: conj(u) + i·conj(v)
				a[(w-k)*hr+r] = complex(real(u)+imag(v), real(v)-imag(u))
			}
		}
	}
	z := t.row.run(a, t.b, hr, true)
	scale := 1 / float64(h*w)
	for r := 0; r < hr; r++ {
		d0 := dst[2*r*w : (2*r+1)*w]
		for j := range d0 {
			d0[j] = real(z[j*hr+r]) * scale
		}
		if 2*r+1 < h {
			d1 := dst[(2*r+1)*w : (2*r+2)*w]
			for j := range d1 {
				d1[j] = imag(z[j*hr+r]) * scale
			}
		}
	}
}
