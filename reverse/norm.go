package reverse

import (
	"fmt"
	"math"
)

// ReverseBatchNorm reverses eval-mode BatchNorm on NCHW data (spec §4.6): per channel with
// |γ| > 1e-4, x̂ = (ŷ − β)/γ·√(var + ε) + μ; channels with |γ| ≤ 1e-4 are set to 0. The
// anchor is not used by the rule.
func ReverseBatchNorm(target []float64, n, c, hw int, gamma, beta, mean, variance []float64, eps float64) ([]float64, error) {
	if len(target) != n*c*hw || len(gamma) != c || len(beta) != c || len(mean) != c || len(variance) != c {
		return nil, fmt.Errorf("reverse.ReverseBatchNorm: target %d values for [%d %d %d], parameters %d/%d/%d/%d for %d channels",
			len(target), n, c, hw, len(gamma), len(beta), len(mean), len(variance), c)
	}
	out := make([]float64, len(target))
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			if math.Abs(gamma[ch]) <= 1e-4 {
				continue
			}
			s := math.Sqrt(variance[ch]+eps) / gamma[ch]
			base := (b*c + ch) * hw
			for i := 0; i < hw; i++ {
				out[base+i] = (target[base+i]-beta[ch])*s + mean[ch]
			}
		}
	}
	return out, nil
}

// ReverseLayerNorm reverses LayerNorm over rows of length d (spec §4.7). weight and bias
// may be nil (no affine part); anchor may be nil.
//  1. z = (ŷ − b)/w where |w| > 1e-12; other positions are "invalid".
//  2. No invalid positions: centre z. Otherwise fill invalid positions with
//     −Σ_valid z / n_invalid (zero-mean minimum-norm completion).
//  3. q = mean(z²); if q > 1 − 1e-6, shrink z by √((1−1e-6)/q) (LN outputs have q < 1).
//  4. s = √(ε / max(1 − q, 1e-6)), c = s·z (LayerNorm maps m + c back to z for any m).
//  5. Shift m: with invalid positions, the m that makes them exactly 0 (their common value
//     of −c); else m = mean(x₀ − c) (closest to the anchor), or 0 without anchor.
func ReverseLayerNorm(target, anchor []float64, d int, weight, bias []float64, eps float64) ([]float64, error) {
	if d <= 0 || len(target)%d != 0 || (anchor != nil && len(anchor) != len(target)) ||
		(weight != nil && len(weight) != d) || (bias != nil && len(bias) != d) {
		return nil, fmt.Errorf("reverse.ReverseLayerNorm: target %d values, rows of %d, anchor %d, weight %d, bias %d", len(target), d, len(anchor), len(weight), len(bias))
	}
	out := make([]float64, len(target))
	z := make([]float64, d)
	invalid := make([]bool, d)
	for r := 0; r < len(target)/d; r++ {
		nInvalid, sumValid := 0, 0.0
		for j := 0; j < d; j++ {
			v := target[r*d+j]
			if bias != nil {
				v -= bias[j]
			}
			invalid[j] = false
			if weight != nil {
				if math.Abs(weight[j]) <= 1e-12 {
					invalid[j] = true
					nInvalid++
					continue
				}
				v /= weight[j]
			}
			z[j] = v
			sumValid += v
		}
		if nInvalid == 0 {
			m := sumValid / float64(d)
			for j := range z {
				z[j] -= m
			}
		} else {
			fill := -sumValid / float64(nInvalid)
			for j := range z {
				if invalid[j] {
					z[j] = fill
				}
			}
		}
		q := 0.0
		for _, v := range z {
			q += v * v
		}
		q /= float64(d)
		if q > 1-1e-6 {
			f := math.Sqrt((1 - 1e-6) / q)
			for j := range z {
				z[j] *= f
			}
			q = 1 - 1e-6
		}
		s := math.Sqrt(eps / max(1-q, 1e-6))
		row := out[r*d : (r+1)*d]
		m := 0.0
		switch {
		case nInvalid > 0:
			for j := range z {
				if invalid[j] {
					m = -s * z[j]
					break
				}
			}
		case anchor != nil:
			for j := range z {
				m += anchor[r*d+j] - s*z[j]
			}
			m /= float64(d)
		}
		for j := range z {
			row[j] = m + s*z[j]
		}
	}
	return out, nil
}
