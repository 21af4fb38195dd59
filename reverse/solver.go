package reverse

import (
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// Tikhonov is the centred Tikhonov solver of spec §2.1 for one matrix A (m×n), sharing
// one SVD across all right-hand sides: x = argmin ‖Ax − b‖² + α‖x − x₀‖², with
// α = max(α₀, (‖r‖/(2μ))²) per sample, α₀ = max((σ₁/κ)², ε·max(σ₁², 1)) and the margin
// μ = MaxAbs − ‖x₀‖∞ (the guard applies only when μ > 0). It keeps ‖x‖∞ ≤ MaxAbs.
type Tikhonov struct {
	u, v   *mat.Dense
	sigma  []float64
	alpha0 float64
	m, n   int
	opt    Options
}

// NewTikhonov factorises A (rows m, columns n, row-major).
func NewTikhonov(a []float64, m, n int, opt Options) (*Tikhonov, bool) {
	t := &Tikhonov{m: m, n: n, opt: opt}
	A := mat.NewDense(m, n, append([]float64(nil), a...))
	var svd mat.SVD
	if !svd.Factorize(A, mat.SVDThin) {
		return nil, false
	}
	t.sigma = svd.Values(nil)
	t.u, t.v = &mat.Dense{}, &mat.Dense{}
	svd.UTo(t.u)
	svd.VTo(t.v)
	s1 := 0.0
	if len(t.sigma) > 0 {
		s1 = t.sigma[0]
	}
	eps := math.Nextafter(1, 2) - 1
	t.alpha0 = max((s1/opt.Kappa)*(s1/opt.Kappa), eps*max(s1*s1, 1))
	return t, true
}

// Solve returns x for one sample (b length m, x0 length n) and the α used.
func (t *Tikhonov) Solve(b, x0 []float64) ([]float64, float64) {
	r := make([]float64, t.m)
	// r = b − A x0 computed through the SVD factors: A = U Σ Vᵀ.
	vtx := make([]float64, len(t.sigma))
	vData := t.v.RawMatrix()
	for i := range t.sigma {
		s := 0.0
		for j := 0; j < t.n; j++ {
			s += vData.Data[j*vData.Stride+i] * x0[j]
		}
		vtx[i] = s * t.sigma[i]
	}
	uData := t.u.RawMatrix()
	for p := 0; p < t.m; p++ {
		s := 0.0
		for i := range t.sigma {
			s += uData.Data[p*uData.Stride+i] * vtx[i]
		}
		r[p] = b[p] - s
	}
	alpha := t.alpha0
	if mu := t.opt.MaxAbs - floats.Norm(x0, math.Inf(1)); mu > 0 {
		g := floats.Norm(r, 2) / (2 * mu)
		alpha = max(alpha, g*g)
	}
	// x = x0 + V diag(σ/(σ²+α)) Uᵀ r
	coef := make([]float64, len(t.sigma))
	for i, s := range t.sigma {
		c := 0.0
		for p := 0; p < t.m; p++ {
			c += uData.Data[p*uData.Stride+i] * r[p]
		}
		coef[i] = c * s / (s*s + alpha)
	}
	x := append([]float64(nil), x0...)
	for j := 0; j < t.n; j++ {
		s := 0.0
		for i := range t.sigma {
			s += vData.Data[j*vData.Stride+i] * coef[i]
		}
		x[j] += s
	}
	return x, alpha
}
