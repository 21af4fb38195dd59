package reverse

import (
	"math"

	"gonum.org/v1/gonum/floats"
)

// bandChol holds a symmetric band matrix G (n×n, half-bandwidth bw: G[i,j] = 0 for
// |i−j| > bw) by its lower band, and after factorize its Cholesky factor L (G = LLᵀ)
// in the same storage. Row i keeps G[i, i−bw … i] (or L's) at l[i·(bw+1) : (i+1)·(bw+1)],
// the diagonal last; entries left of column 0 stay zero. The factorisation costs about
// n·bw² flops and each solve 4·n·bw, instead of n³/3 and 2n² for a dense matrix.
type bandChol struct {
	n, bw int
	l     []float64
}

func newBandChol(n, bw int) *bandChol {
	bw = max(min(bw, n-1), 0)
	return &bandChol{n: n, bw: bw, l: make([]float64, n*(bw+1))}
}

// addDiag adds alpha to every diagonal entry.
func (b *bandChol) addDiag(alpha float64) {
	w := b.bw + 1
	for i := 0; i < b.n; i++ {
		b.l[i*w+b.bw] += alpha
	}
}

// factorize overwrites the band of G with its Cholesky factor, row by row (each entry
// is one contiguous dot product of two stored rows). It reports false when a pivot is
// not positive (G not numerically positive definite) or not finite.
func (b *bandChol) factorize() bool {
	n, bw, w := b.n, b.bw, b.bw+1
	for i := 0; i < n; i++ {
		ri := b.l[i*w : (i+1)*w] // ri[k] = L[i, i−bw+k]
		j0 := max(0, i-bw)
		for j := j0; j < i; j++ {
			rj := b.l[j*w : (j+1)*w] // rj[k] = L[j, j−bw+k]
			// Σ_{c=j0}^{j−1} L[i,c]·L[j,c]
			s := ri[j-i+bw] - floats.Dot(ri[j0-i+bw:j-i+bw], rj[j0-j+bw:bw])
			ri[j-i+bw] = s / rj[bw]
		}
		d := ri[bw] - floats.Dot(ri[j0-i+bw:bw], ri[j0-i+bw:bw])
		if !(d > 0) || math.IsInf(d, 1) {
			return false
		}
		ri[bw] = math.Sqrt(d)
	}
	return true
}

// solve overwrites x (length n) with G⁻¹x using the factor: L z = x, then Lᵀ x = z.
func (b *bandChol) solve(x []float64) {
	n, bw, w := b.n, b.bw, b.bw+1
	for i := 0; i < n; i++ {
		ri := b.l[i*w : (i+1)*w]
		j0 := max(0, i-bw)
		x[i] = (x[i] - floats.Dot(ri[j0-i+bw:bw], x[j0:i])) / ri[bw]
	}
	for i := n - 1; i >= 0; i-- {
		ri := b.l[i*w : (i+1)*w]
		xi := x[i] / ri[bw]
		x[i] = xi
		j0 := max(0, i-bw)
		if xi != 0 {
			floats.AddScaled(x[j0:i], -xi, ri[j0-i+bw:bw])
		}
	}
}

// bandPerm returns the pixel-major position of every channel-major index of a
// c×h×w array: (ch, y, x) ↦ (y·w + x)·c + ch. In that order a convolution couples
// only indices that are at most c·((kh−1)·w + kw) apart, so its Gram matrices are
// band matrices.
func bandPerm(c, h, w int) []int32 {
	p := make([]int32, c*h*w)
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				p[(ch*h+y)*w+x] = int32((y*w+x)*c + ch)
			}
		}
	}
	return p
}

// bandGram assembles the lower band of SᵀS for a sparse matrix S given by groups
// (rows of S, as index/value lists between ptr offsets) whose indices are mapped
// through perm: G[perm[j], perm[k]] += Σ S[r,j]·S[r,k]. The half-bandwidth is the
// widest permuted span of any group.
func bandGram(size int, ptr []int, idx []int32, val []float64, perm []int32) *bandChol {
	bw := 0
	for r := 0; r+1 < len(ptr); r++ {
		lo, hi := ptr[r], ptr[r+1]
		if lo == hi {
			continue
		}
		mn, mx := perm[idx[lo]], perm[idx[lo]]
		for p := lo + 1; p < hi; p++ {
			mn, mx = min(mn, perm[idx[p]]), max(mx, perm[idx[p]])
		}
		bw = max(bw, int(mx-mn))
	}
	g := newBandChol(size, bw)
	w := g.bw + 1
	for r := 0; r+1 < len(ptr); r++ {
		lo, hi := ptr[r], ptr[r+1]
		for p := lo; p < hi; p++ {
			ip, vp := int(perm[idx[p]]), val[p]
			row := g.l[ip*w+g.bw-ip:] // row[j] = G[ip, j]
			for q := lo; q < hi; q++ {
				if jq := int(perm[idx[q]]); jq <= ip {
					row[jq] += vp * val[q]
				}
			}
		}
	}
	return g
}

// solvePerm solves G z = v for a vector v in the original (channel-major) order:
// it permutes v into work, solves there and writes z back into v.
func (b *bandChol) solvePerm(v, work []float64, perm []int32) {
	for j, p := range perm {
		work[p] = v[j]
	}
	b.solve(work)
	for j, p := range perm {
		v[j] = work[p]
	}
}
