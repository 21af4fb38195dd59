package reverse

import (
	"math"
)

// Reliability checks of spec §2.2 on one sample.

// finiteBounded reports whether every x is finite with |x| ≤ maxAbs.
func finiteBounded(x []float64, maxAbs float64) bool {
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > maxAbs {
			return false
		}
	}
	return true
}

// deviationOK reports ‖x − ref‖ ≤ ratio·‖ref‖, waived when ‖ref‖ ≤ floor·√n.
func deviationOK(x, ref []float64, ratio, floor float64) bool {
	if ref == nil {
		return true
	}
	var d, r float64
	for i := range x {
		d += (x[i] - ref[i]) * (x[i] - ref[i])
		r += ref[i] * ref[i]
	}
	r = math.Sqrt(r)
	if r <= floor*math.Sqrt(float64(len(ref))) {
		return true
	}
	return math.Sqrt(d) <= ratio*r
}

func norm2(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s)
}

// denseOp is a row-major m×n matrix with its Frobenius norm.
type denseOp struct {
	a     []float64
	m, n  int
	normF float64
}

func newDenseOp(a []float64, m, n int) denseOp {
	return denseOp{a: a, m: m, n: n, normF: norm2(a)}
}

// apply returns A x.
func (d denseOp) apply(x []float64) []float64 {
	y := make([]float64, d.m)
	for i := 0; i < d.m; i++ {
		row := d.a[i*d.n : (i+1)*d.n]
		s := 0.0
		for j, v := range row {
			s += v * x[j]
		}
		y[i] = s
	}
	return y
}

// applyT returns Aᵀ y.
func (d denseOp) applyT(y []float64) []float64 {
	x := make([]float64, d.n)
	for i := 0; i < d.m; i++ {
		row := d.a[i*d.n : (i+1)*d.n]
		yi := y[i]
		for j, v := range row {
			x[j] += v * yi
		}
	}
	return x
}

// solveResidual is the "solve" test quantity ‖Ax − b‖ / (‖A‖‖x‖ + ‖b‖).
func (d denseOp) solveResidual(x, b []float64) float64 {
	ax := d.apply(x)
	for i := range ax {
		ax[i] -= b[i]
	}
	return norm2(ax) / (d.normF*norm2(x) + norm2(b) + 1e-300)
}

// lstsqResidual is the "lstsq" test quantity ‖Aᵀ(Ax − b)‖ / (‖A‖(‖A‖‖x‖ + ‖b‖)).
func (d denseOp) lstsqResidual(x, b []float64) float64 {
	ax := d.apply(x)
	for i := range ax {
		ax[i] -= b[i]
	}
	g := d.applyT(ax)
	return norm2(g) / (d.normF*(d.normF*norm2(x)+norm2(b)) + 1e-300)
}

// reliable runs §2.2 on one sample: finite, bounded, deviation and the solve or lstsq test.
func (d denseOp) reliable(x, b, anchor []float64, lstsq bool, opt Options) bool {
	if !finiteBounded(x, opt.MaxAbs) || !deviationOK(x, anchor, opt.MaxDevRatio, opt.FloorMatrix) {
		return false
	}
	if lstsq {
		return d.lstsqResidual(x, b) <= opt.tauLstsq()
	}
	return d.solveResidual(x, b) <= opt.tauSolve()
}
