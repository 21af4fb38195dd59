package reverse

import (
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// Diag describes how one reverse call went.
type Diag struct {
	Method    string  // e.g. "linear-shrink", "linear-expand"
	Samples   int     // batch size
	Fallbacks int     // samples (or frequency systems) that took the Tikhonov fallback
	RelResid  float64 // mean over samples of ‖g(x̂) − ŷ‖ / ‖ŷ‖
}

// Linear reverses y = W x + β (W m×n row-major, PyTorch layout [out, in]) for a batch
// (spec §4.1). anchor holds B rows of n, target B rows of m. With b = ŷ − β:
//   - shrink (n ≥ m): x̂ = x₀ + Wᵀ(WWᵀ)⁻¹(b − W x₀), the closest point to the anchor on
//     {x : Wx = b}; rows failing the "solve" test fall back to centred Tikhonov;
//   - expand (n < m): x̂ = argmin ‖Wx − b‖ by QR (anchor-free); rows failing the "lstsq"
//     test (which includes the deviation bound against the anchor) fall back to Tikhonov.
func Linear(w, bias []float64, m, n int, anchor, target []float64, opt Options) ([]float64, Diag, error) {
	return linearReverse(w, bias, m, n, anchor, nil, target, opt)
}

// LinearFromForward is Linear with the layer's forward output y₀ = W x₀ + β given (as
// the network computed it): the shrink residual is then r = ŷ − y₀, so a row whose target
// equals its forward output returns its anchor exactly, instead of an anchor plus
// rounding noise that a following ReLU or max-pool rule would turn into a discrete change
// (an inactive unit nudged to +1e-7 becomes active).
func LinearFromForward(w, bias []float64, m, n int, anchor, forward, target []float64, opt Options) ([]float64, Diag, error) {
	if len(forward) != len(target) {
		return nil, Diag{}, fmt.Errorf("reverse.Linear: forward output has %d values, target %d", len(forward), len(target))
	}
	return linearReverse(w, bias, m, n, anchor, forward, target, opt)
}

func linearReverse(w, bias []float64, m, n int, anchor, forward, target []float64, opt Options) ([]float64, Diag, error) {
	if len(w) != m*n || (bias != nil && len(bias) != m) {
		return nil, Diag{}, fmt.Errorf("reverse.Linear: weight has %d values (want %d×%d), bias %d", len(w), m, n, len(bias))
	}
	if len(anchor)%n != 0 || len(target)%m != 0 || len(anchor)/n != len(target)/m {
		return nil, Diag{}, fmt.Errorf("reverse.Linear: anchor of %d values (rows of %d) and target of %d values (rows of %d) do not pair up", len(anchor), n, len(target), m)
	}
	B := len(anchor) / n
	b := append([]float64(nil), target...)
	if bias != nil {
		for r := 0; r < B; r++ {
			for i := 0; i < m; i++ {
				b[r*m+i] -= bias[i]
			}
		}
	}
	op := newDenseOp(w, m, n)
	W := mat.NewDense(m, n, w)
	x := make([]float64, B*n)
	d := Diag{Samples: B}
	shrink := n >= m
	if shrink {
		d.Method = "linear-shrink"
		var G mat.Dense
		G.Mul(W, W.T())
		var lu mat.LU
		lu.Factorize(&G)
		R := mat.NewDense(B, m, nil) // rows r_b = b_b − W x0_b
		for r := 0; r < B; r++ {
			if forward != nil {
				for i := 0; i < m; i++ {
					R.Set(r, i, target[r*m+i]-forward[r*m+i])
				}
				continue
			}
			wx := op.apply(anchor[r*n : (r+1)*n])
			for i := 0; i < m; i++ {
				R.Set(r, i, b[r*m+i]-wx[i])
			}
		}
		var Z mat.Dense // G Z = Rᵀ
		err := lu.SolveTo(&Z, false, R.T())
		for r := 0; r < B; r++ {
			row := x[r*n : (r+1)*n]
			copy(row, anchor[r*n:(r+1)*n])
			if err == nil && (forward == nil || !allZero(R.RawRowView(r))) {
				z := make([]float64, m)
				for i := range z {
					z[i] = Z.At(i, r)
				}
				for j, v := range op.applyT(z) {
					row[j] += v
				}
			}
		}
	} else {
		d.Method = "linear-expand"
		var qr mat.QR
		qr.Factorize(W)
		Bm := mat.NewDense(m, B, nil)
		for r := 0; r < B; r++ {
			for i := 0; i < m; i++ {
				Bm.Set(i, r, b[r*m+i])
			}
		}
		var X mat.Dense
		if err := qr.SolveTo(&X, false, Bm); err == nil {
			for r := 0; r < B; r++ {
				for j := 0; j < n; j++ {
					x[r*n+j] = X.At(j, r)
				}
			}
		} else {
			copy(x, anchor) // all rows fail the test below and take the fallback
			for i := range x {
				x[i] = 1e300
			}
		}
	}
	var tk *Tikhonov
	for r := 0; r < B; r++ {
		xr, br, ar := x[r*n:(r+1)*n], b[r*m:(r+1)*m], anchor[r*n:(r+1)*n]
		if !opt.Regularize || op.reliable(xr, br, ar, !shrink, opt) {
			continue
		}
		if tk == nil {
			var ok bool
			if tk, ok = NewTikhonov(w, m, n, opt); !ok {
				return nil, d, fmt.Errorf("reverse.Linear: SVD of the %d×%d weight failed", m, n)
			}
		}
		sol, _ := tk.Solve(br, ar)
		copy(xr, sol)
		d.Fallbacks++
	}
	for r := 0; r < B; r++ {
		y := op.apply(x[r*n : (r+1)*n])
		br := b[r*m : (r+1)*m]
		for i := range y {
			y[i] -= br[i]
		}
		d.RelResid += norm2(y) / max(norm2(target[r*m:(r+1)*m]), 1e-300)
	}
	d.RelResid /= float64(max(B, 1))
	return x, d, nil
}

func allZero(x []float64) bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}
